#include "events/envelope.h"

#include "common/ids.h"
#include "events/subjects.h"

namespace kiln::events {
namespace {

// One row per payload of an Envelope (docs/design.md "Events and projections"); a payload added
// to the schema needs a row here.
struct EventKind {
  v1::Envelope::PayloadCase payload;
  std::string_view type;    // Envelope.type and the <type> of kiln.build.<type>.<build_id>
  std::string_view status;  // the build status it moves a build to; empty: none
};

constexpr EventKind kEventKinds[] = {
    {v1::Envelope::kRequested, "requested", "requested"},
    {v1::Envelope::kQueued, "queued", "queued"},
    {v1::Envelope::kDispatched, "dispatched", "dispatched"},
    {v1::Envelope::kStarted, "started", "building"},
    {v1::Envelope::kStepStarted, "step_started", ""},
    {v1::Envelope::kStepFinished, "step_finished", ""},
    {v1::Envelope::kBuilt, "built", "pushing"},
    {v1::Envelope::kPushed, "pushed", "pushing"},
    {v1::Envelope::kSucceeded, "succeeded", "succeeded"},
    {v1::Envelope::kFailed, "failed", "failed"},
    {v1::Envelope::kCancelRequested, "cancel_requested", ""},
    {v1::Envelope::kCancelled, "cancelled", "cancelled"},
};

// The row of a payload case; nullptr for PAYLOAD_NOT_SET.
const EventKind* find_kind(v1::Envelope::PayloadCase payload) {
  for (const EventKind& kind : kEventKinds) {
    if (kind.payload == payload) return &kind;
  }
  return nullptr;
}

}  // namespace

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
  const EventKind* kind = find_kind(payload);
  return kind == nullptr ? std::string() : std::string(kind->type);
}

std::string implied_status(v1::Envelope::PayloadCase payload) {
  const EventKind* kind = find_kind(payload);
  return kind == nullptr ? std::string() : std::string(kind->status);
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
