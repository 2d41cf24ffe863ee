// How a worker settles a message once its job has decided: ack, hand back now, or hand back for
// a later retry.
#pragma once

#include <string>

#include "bus/message.h"

namespace kiln::worker {

// The delay before a message handed back with Settle::kNakLater is delivered again.
inline constexpr int kRetryDelayMs = 5000;

enum class Settle {
  kAck,       // the outcome is stored (or there is nothing to do)
  kNak,       // handed back at shutdown: another replica takes it now
  kNakLater,  // the log could not be read or written, or a copy still runs here: retry later
};

// Acks or naks `message`. A failure is logged ("ack failed" / "nak failed" with `build_id` and
// the error) and not returned: the server redelivers after AckWait and the handlers are
// idempotent, so the caller has nothing better to do with it.
void settle(bus::Message& message, Settle how, const std::string& build_id);

}  // namespace kiln::worker
