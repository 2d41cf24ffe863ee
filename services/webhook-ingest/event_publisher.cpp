#include "webhook-ingest/event_publisher.h"

#include "common/log.h"
#include "json/writer.h"
#include "webhook-ingest/metrics.h"

namespace kiln::webhook {

Result<Published> EventPublisher::requested(const std::string& build_id,
                                            const events::v1::BuildRequested& request,
                                            const std::string& msg_id) {
  auto envelope = events::new_envelope(build_id, producer_);
  *envelope.mutable_requested() = request;
  return publish(envelope, msg_id);
}

Result<Published> EventPublisher::cancel_requested(const std::string& build_id,
                                                   const std::string& by,
                                                   const std::string& reason) {
  auto envelope = events::new_envelope(build_id, producer_);
  envelope.mutable_cancel_requested()->set_by(by);
  envelope.mutable_cancel_requested()->set_reason(reason);
  return publish(envelope, {});
}

Result<Published> EventPublisher::publish(events::v1::Envelope& envelope,
                                          const std::string& msg_id) {
  auto encoded = events::encode(envelope);
  if (!msg_id.empty()) encoded.msg_id = msg_id;
  auto ack = bus_.publish_within(encoded.subject, encoded.data, encoded.msg_id, timeout_ms_);
  if (!ack.ok()) {
    metrics_.counter_add(metric::kPublishFailures, {{"type", envelope.type()}});
    log::warn("publish failed", {{"build_id", envelope.build_id()},
                                 {"type", envelope.type()},
                                 {"msg_id", encoded.msg_id},
                                 {"error", ack.error().describe()}});
    Error error = ack.error();
    // Whatever nats.c said (timeout, no responders, closed), the client should retry later.
    error.code = ErrorCode::kUnavailable;
    error.message = "the event log did not acknowledge the event in time: " + error.message;
    return error;
  }
  return Published{envelope.build_id(), ack->duplicate, ack->sequence};
}

std::string build_links_json(const std::string& build_id) {
  const std::string base = "/v1/builds/" + build_id;
  return json::Object()
      .add("status", base)
      .add("events", base + "/events")
      .add("stream", base + "/stream")
      .str();
}

}  // namespace kiln::webhook
