#include "scheduler/dispatch_actions.h"

#include "events/envelope.h"

namespace kiln::scheduler {

v1::Envelope to_envelope(const Action& action, std::string_view producer, std::int64_t now_ms) {
  const std::int32_t attempt = action.kind == Action::Kind::kDispatched ? action.attempt : 0;
  v1::Envelope envelope = events::new_envelope(action.build_id, producer, attempt);
  // The scheduler's clock (injectable in tests) is the one its timers compare against.
  envelope.set_occurred_at_ms(now_ms);
  switch (action.kind) {
    case Action::Kind::kQueued: {
      auto* queued = envelope.mutable_queued();
      queued->set_position(action.position);
      queued->set_held_by(action.held_by);
      break;
    }
    case Action::Kind::kDispatched:
      envelope.mutable_dispatched()->set_attempt(action.attempt);
      break;
    case Action::Kind::kCancelRequested: {
      auto* request = envelope.mutable_cancel_requested();
      request->set_by(action.by);
      request->set_reason(action.reason);
      break;
    }
    case Action::Kind::kCancelled: {
      auto* cancelled = envelope.mutable_cancelled();
      cancelled->set_stage(action.stage);
      cancelled->set_reason(action.reason);
      break;
    }
    case Action::Kind::kFailed: {
      auto* failed = envelope.mutable_failed();
      failed->set_stage(action.stage);
      failed->set_reason(action.reason);
      failed->set_retryable(true);
      break;
    }
  }
  events::seal(envelope);
  return envelope;
}

std::string_view kind_name(Action::Kind kind) {
  switch (kind) {
    case Action::Kind::kQueued:
      return "queued";
    case Action::Kind::kDispatched:
      return "dispatched";
    case Action::Kind::kCancelRequested:
      return "cancel_requested";
    case Action::Kind::kCancelled:
      return "cancelled";
    case Action::Kind::kFailed:
      return "failed";
  }
  return "";
}

}  // namespace kiln::scheduler
