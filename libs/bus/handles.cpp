#include "bus/handles.h"

#include "common/log.h"

namespace kiln::bus {
namespace {

// How long closing a subscription waits for the server's answer to its flush.
constexpr int kCloseFlushTimeoutMs = 2000;

template <typename Handle, typename Stop>
void close_after_flush(natsConnection* connection, Handle& handle, const char* stop_call,
                       Stop stop) {
  if (!handle) return;
  if (connection != nullptr && natsConnection_Status(connection) == NATS_CONN_STATUS_CONNECTED) {
    // Failing either means the connection went away meanwhile (then nothing is read for it).
    if (natsStatus s = stop(handle.get()); s != NATS_OK) {
      log::warn("closing a subscription", {{"error", nats_error(stop_call, s).describe()}});
    }
    if (natsStatus s = natsConnection_FlushTimeout(connection, kCloseFlushTimeoutMs);
        s != NATS_OK) {
      log::warn("closing a subscription",
                {{"error", nats_error("natsConnection_FlushTimeout", s).describe()}});
    }
  }
  handle.reset();
}

}  // namespace

void close_subscription(natsConnection* connection, SubscriptionHandle& subscription) {
  close_after_flush(connection, subscription, "natsSubscription_Unsubscribe",
                    natsSubscription_Unsubscribe);
}

void close_watcher(natsConnection* connection, KvWatcherHandle& watcher) {
  close_after_flush(connection, watcher, "kvWatcher_Stop", kvWatcher_Stop);
}

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
    case NATS_CONNECTION_AUTH_FAILED:
      code = ErrorCode::kUnauthenticated;
      break;
    case NATS_NOT_PERMITTED:
      code = ErrorCode::kPermissionDenied;
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
    // nats.c answers some calls with NATS_ERR rather than NATS_NOT_FOUND when the stream or
    // consumer does not exist (js_GetConsumerInfo on a missing stream): the code says so.
    if (js_code == JSStreamNotFoundErr || js_code == JSConsumerNotFoundErr) {
      code = ErrorCode::kNotFound;
    }
    // A full stream with discard-new refuses a message with 10077 and the store's reason
    // ("maximum bytes exceeded", "maximum messages exceeded"); 10047 is the server's own
    // storage exhausted. Both mean "full, try later", not "down".
    const bool limit_reached = message.find("maximum ") != std::string::npos &&
                               message.find(" exceeded") != std::string::npos;
    if (js_code == JSStorageResourcesExceededErr ||
        (js_code == JSStreamStoreFailedErr && limit_reached)) {
      code = ErrorCode::kResourceExhausted;
    }
  }
  return make_error(code, std::move(message), std::move(peer));
}

}  // namespace kiln::bus
