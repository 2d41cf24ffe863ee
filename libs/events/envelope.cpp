#include "events/envelope.h"

#include "common/ids.h"
#include "events/subjects.h"

namespace kiln::events {

v1::Envelope new_envelope(std::string_view build_id, std::string_view producer,
                          std::int32_t attempt) {
  v1::Envelope envelope;
  envelope.set_event_id(random_id());
  envelope.set_build_id(std::string(build_id));
  envelope.set_occurred_at_ms(now_ms());
  envelope.set_producer(std::string(producer));
  envelope.set_attempt(attempt);
  return envelope;
}

std::string type_name(v1::Envelope::PayloadCase payload) {
  switch (payload) {
    case v1::Envelope::kRequested:
      return "requested";
    case v1::Envelope::kQueued:
      return "queued";
    case v1::Envelope::kDispatched:
      return "dispatched";
    case v1::Envelope::kStarted:
      return "started";
    case v1::Envelope::kStepStarted:
      return "step_started";
    case v1::Envelope::kStepFinished:
      return "step_finished";
    case v1::Envelope::kBuilt:
      return "built";
    case v1::Envelope::kPushed:
      return "pushed";
    case v1::Envelope::kSucceeded:
      return "succeeded";
    case v1::Envelope::kFailed:
      return "failed";
    case v1::Envelope::kCancelRequested:
      return "cancel_requested";
    case v1::Envelope::kCancelled:
      return "cancelled";
    case v1::Envelope::PAYLOAD_NOT_SET:
      return "";
  }
  return "";
}

std::string seal(v1::Envelope& envelope) {
  std::string type = type_name(envelope.payload_case());
  envelope.set_type(type);
  return type;
}

Encoded encode(v1::Envelope& envelope) {
  const std::string type = seal(envelope);
  Encoded out;
  out.subject = build_subject(type, envelope.build_id());
  envelope.SerializeToString(&out.data);
  out.msg_id = event_msg_id(envelope.build_id(), type, envelope.attempt());
  return out;
}

Result<v1::Envelope> decode(std::string_view data) {
  v1::Envelope envelope;
  if (!envelope.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return make_error(ErrorCode::kDataLoss, "not a kiln.events.v1.Envelope");
  }
  return envelope;
}

std::string_view stage_name(v1::Stage stage) {
  switch (stage) {
    case v1::QUEUE:
      return "queue";
    case v1::FETCH:
      return "fetch";
    case v1::BUILD:
      return "build";
    case v1::PUSH:
      return "push";
    case v1::TIMEOUT:
      return "timeout";
    case v1::DISPATCH:
      return "dispatch";
    default:
      return "unspecified";
  }
}

std::string_view trigger_name(v1::Trigger::Kind kind) {
  switch (kind) {
    case v1::Trigger::MANUAL:
      return "manual";
    case v1::Trigger::WEBHOOK:
      return "webhook";
    case v1::Trigger::SCHEDULE:
      return "schedule";
    case v1::Trigger::RETRY:
      return "retry";
    default:
      return "unspecified";
  }
}

}  // namespace kiln::events
