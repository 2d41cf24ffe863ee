#include "worker/settle.h"

#include "common/log.h"

namespace kiln::worker {

void settle(bus::Message& message, Settle how, const std::string& build_id) {
  Status status;
  const char* what = "ack";
  switch (how) {
    case Settle::kAck:
      status = message.ack();
      break;
    case Settle::kNak:
      status = message.nak(0);
      what = "nak";
      break;
    case Settle::kNakLater:
      status = message.nak(kRetryDelayMs);
      what = "nak";
      break;
  }
  if (!status.ok()) {
    log::warn(std::string(what) + " failed",
              {{"build_id", build_id}, {"error", status.error().describe()}});
  }
}

}  // namespace kiln::worker
