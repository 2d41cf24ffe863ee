// Building and reading Envelopes. The event type token is derived from the payload that is set,
// so a type string and a payload can never disagree.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "kiln/events/v1/events.pb.h"

namespace kiln::events {

// A new envelope: fresh event id, occurred_at now, producer and attempt set. Set the payload,
// then call seal().
v1::Envelope new_envelope(std::string_view build_id, std::string_view producer,
                          std::int32_t attempt = 0);
// Sets Envelope.type from the payload; returns the type token ("requested", "built", ...).
std::string seal(v1::Envelope& envelope);
// The type token for a payload case; empty for PAYLOAD_NOT_SET.
std::string type_name(v1::Envelope::PayloadCase payload);
// The build status an event with this payload moves a build to ("building" for `started`,
// "pushing" for `built` and `pushed`); empty for events that carry data but no transition
// (step_started, step_finished, cancel_requested) and for PAYLOAD_NOT_SET.
std::string implied_status(v1::Envelope::PayloadCase payload);

// Serialises a sealed envelope and the Nats-Msg-Id for it (build id, type, attempt).
struct Encoded {
  std::string subject;
  std::string data;
  std::string msg_id;
};
Encoded encode(v1::Envelope& envelope);

Result<v1::Envelope> decode(std::string_view data);

std::string_view stage_name(v1::Stage stage);
std::string_view trigger_name(v1::Trigger::Kind kind);

}  // namespace kiln::events
