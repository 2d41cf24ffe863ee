#include "bus/handles.h"

namespace kiln::bus {

Error nats_error(const char* call, natsStatus status, jsErrCode js_code) {
  ErrorCode code = ErrorCode::kInternal;
  switch (status) {
    case NATS_TIMEOUT:
      code = ErrorCode::kDeadlineExceeded;
      break;
    case NATS_NOT_FOUND:
      code = ErrorCode::kNotFound;
      break;
    case NATS_NO_SERVER:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_NO_RESPONDERS:
    case NATS_IO_ERROR:
      code = ErrorCode::kUnavailable;
      break;
    case NATS_INVALID_ARG:
      code = ErrorCode::kInvalidArgument;
      break;
    default:
      break;
  }
  std::string message = std::string(call) + ": " + natsStatus_GetText(status);
  natsStatus last_status = NATS_OK;
  const char* detail = nats_GetLastError(&last_status);
  if (detail != nullptr && *detail != '\0' && message.find(detail) == std::string::npos) {
    message += " (" + std::string(detail) + ")";
  }
  std::string peer;
  if (js_code != 0) {
    peer = "JS " + std::to_string(static_cast<int>(js_code));
    if (js_code == JSStreamWrongLastSequenceErr) code = ErrorCode::kFailedPrecondition;
  }
  return make_error(code, std::move(message), std::move(peer));
}

}  // namespace kiln::bus
