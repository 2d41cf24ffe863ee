// Turns a dispatcher decision into the event that announces it. The envelope's attempt is the
// dispatch attempt for `dispatched` and 0 for everything else, so events::encode() derives the
// Nats-Msg-Id event_msg_id(build, type, attempt): a replica or a restart re-deciding the same
// thing publishes a duplicate the stream drops.
#pragma once

#include <cstdint>
#include <string_view>

#include "kiln/events/v1/events.pb.h"
#include "scheduler/dispatch_state.h"

namespace kiln::scheduler {

v1::Envelope to_envelope(const Action& action, std::string_view producer, std::int64_t now_ms);

std::string_view kind_name(Action::Kind kind);

}  // namespace kiln::scheduler
