#include "scheduler/dispatch_state.h"

#include <algorithm>
#include <utility>

namespace kiln::scheduler {
namespace {

bool is_tag_ref(const std::string& ref) { return ref.rfind("refs/tags/", 0) == 0; }

}  // namespace

bool DispatchState::apply(const v1::Envelope& envelope, std::int64_t log_ms) {
  const std::string& id = envelope.build_id();
  if (id.empty()) return false;
  advance_log_time(log_ms != 0 ? log_ms : envelope.occurred_at_ms());
  const auto payload = envelope.payload_case();
  const bool can_begin = payload == v1::Envelope::kRequested ||
                         payload == v1::Envelope::kCancelRequested ||
                         payload == v1::Envelope::kSucceeded || payload == v1::Envelope::kFailed ||
                         payload == v1::Envelope::kCancelled;
  // A step, log or dispatch of a build never requested (or long forgotten) is nothing to track.
  if (!can_begin && !builds_.count(id)) return false;
  Build& build = builds_[id];
  switch (envelope.payload_case()) {
    case v1::Envelope::kRequested:
      if (build.requested) return false;
      on_requested(build, id, envelope);
      return true;
    case v1::Envelope::kQueued:
      if (build.queued_announced) return false;
      build.queued_announced = true;
      return true;
    case v1::Envelope::kDispatched:
      return on_dispatched(build, envelope.dispatched().attempt(), envelope.occurred_at_ms());
    case v1::Envelope::kStarted:
    case v1::Envelope::kBuilt:
    case v1::Envelope::kStepStarted:
    case v1::Envelope::kStepFinished:
    case v1::Envelope::kPushed:
      return on_worker_event(build, envelope);
    case v1::Envelope::kSucceeded:
    case v1::Envelope::kFailed:
    case v1::Envelope::kCancelled:
      return on_terminal(build, id);
    case v1::Envelope::kCancelRequested:
      if (build.phase == Phase::kTerminal || build.cancel_requested) return false;
      build.cancel_requested = true;
      build.cancel_reason = envelope.cancel_requested().reason();
      return true;
    case v1::Envelope::PAYLOAD_NOT_SET:
      return false;
  }
  return false;
}

bool DispatchState::on_worker_event(Build& build, const v1::Envelope& envelope) {
  if (build.phase != Phase::kRunning) return false;
  bool changed = false;
  if (envelope.has_started() && !build.pushing && envelope.started().attempt() == build.attempt &&
      !envelope.started().worker_id().empty() && build.worker != envelope.started().worker_id()) {
    build.worker = envelope.started().worker_id();
    build.worker_seen_ms = std::max(build.worker_seen_ms, envelope.occurred_at_ms());
    changed = true;
  }
  if (envelope.has_built() && !build.pushing) {
    // The builder is done with it; a pusher takes over when its heartbeat lists it.
    build.pushing = true;
    build.worker.clear();
    changed = true;
  }
  // Any sign of life from a worker keeps an unowned running build from counting as stuck.
  if (envelope.occurred_at_ms() > build.last_activity_ms) {
    build.last_activity_ms = envelope.occurred_at_ms();
    changed = true;
  }
  return changed;
}

void DispatchState::on_requested(Build& build, const std::string& id,
                                 const v1::Envelope& envelope) {
  const auto& r = envelope.requested();
  build.requested = true;
  build.project = r.project();
  build.ref = r.has_git() ? r.git().ref() : "";
  build.priority = r.spec().priority();
  build.preferred = r.has_git() && (r.git().default_branch() || is_tag_ref(build.ref));
  build.supersede = r.spec().supersede();
  build.project_limit = r.project_concurrency();
  build.max_queue_seconds = r.max_queue_seconds();
  build.requested_ms = envelope.occurred_at_ms();
  build.order = next_order_++;
  // Already terminal (a cancel or failure seen first): the request is history, not work.
  if (build.phase != Phase::kUnknown) return;
  if (!build.ref.empty()) {
    auto older = queued_by_ref_.find({build.project, build.ref});
    if (older != queued_by_ref_.end()) {
      for (std::uint64_t order : older->second) {
        Build& other = builds_.at(queued_by_order_.at(order));
        if (other.supersede && other.superseded_by.empty()) other.superseded_by = id;
      }
    }
  }
  enqueue(build, id);
}

bool DispatchState::on_dispatched(Build& build, std::int32_t attempt, std::int64_t at_ms) {
  // A dispatch of a build never requested cannot be placed under any limit; a later `requested`
  // queues it and the re-derived dispatch is deduplicated by its Msg-Id.
  if (!build.requested || build.phase == Phase::kTerminal || attempt <= build.attempt) return false;
  if (build.phase == Phase::kQueued) {
    const std::string id = queued_by_order_.at(build.order);
    dequeue(build, id);
    running_ids_.insert(id);
    ++running_total_;
    ProjectQueue& project = projects_[build.project];
    ++project.running;
    project.last_served = ++serve_counter_;
    build.phase = Phase::kRunning;
  }
  build.attempt = attempt;
  build.last_activity_ms = at_ms;
  build.pushing = false;
  build.worker.clear();
  build.worker_seen_ms = 0;
  return true;
}

int DispatchState::observe_heartbeat(const v1::WorkerHeartbeat& heartbeat, std::int64_t now_ms) {
  const bool pusher = heartbeat.kind() == "pusher";
  if (!pusher && heartbeat.kind() != "builder") return 0;
  int vouched = 0;
  for (const auto& entry : heartbeat.running()) {
    auto it = builds_.find(entry.build_id());
    if (it == builds_.end()) continue;
    Build& build = it->second;
    // A builder still listing a build the log shows built (or the reverse) is a view in
    // passing, not ownership: only the stage's own kind of worker vouches.
    if (build.phase != Phase::kRunning || entry.attempt() != build.attempt ||
        build.pushing != pusher) {
      continue;
    }
    build.worker = heartbeat.worker_id();
    build.worker_seen_ms = std::max(build.worker_seen_ms, now_ms);
    ++vouched;
  }
  return vouched;
}

void DispatchState::refresh_liveness(std::int64_t now_ms) {
  for (const auto& id : running_ids_) {
    Build& build = builds_.at(id);
    if (!build.worker.empty()) build.worker_seen_ms = std::max(build.worker_seen_ms, now_ms);
  }
}

void DispatchState::vouch(const std::string& build_id, std::int64_t now_ms) {
  auto it = builds_.find(build_id);
  if (it == builds_.end() || it->second.phase != Phase::kRunning || it->second.worker.empty()) {
    return;
  }
  it->second.worker_seen_ms = std::max(it->second.worker_seen_ms, now_ms);
}

std::string DispatchState::owner(const std::string& build_id) const {
  auto it = builds_.find(build_id);
  if (it == builds_.end() || it->second.phase != Phase::kRunning) return {};
  return it->second.worker;
}

bool DispatchState::on_terminal(Build& build, const std::string& id) {
  if (build.phase == Phase::kTerminal) return false;
  if (build.phase == Phase::kQueued) dequeue(build, id);
  if (build.phase == Phase::kRunning) {
    running_ids_.erase(id);
    --running_total_;
    --projects_[build.project].running;
  }
  build.phase = Phase::kTerminal;
  tombstones_.emplace_back(log_ms_, id);
  // Terminal builds stay only as tombstones so late duplicates are recognised.
  build.ref.clear();
  build.ref.shrink_to_fit();
  build.cancel_reason.clear();
  build.superseded_by.clear();
  return true;
}

void DispatchState::advance_log_time(std::int64_t log_ms) {
  log_ms_ = std::max(log_ms_, log_ms);
  while (!tombstones_.empty() &&
         tombstones_.front().first + limits_.forget_terminal_after_ms < log_ms_) {
    auto it = builds_.find(tombstones_.front().second);
    if (it != builds_.end() && it->second.phase == Phase::kTerminal) builds_.erase(it);
    tombstones_.pop_front();
  }
}

void DispatchState::enqueue(Build& build, const std::string& id) {
  build.phase = Phase::kQueued;
  ProjectQueue& project = projects_[build.project];
  project.waiting.emplace(key_of(build), id);
  waiting_projects_.insert(build.project);
  queued_by_order_.emplace(build.order, id);
  if (!build.ref.empty()) queued_by_ref_[{build.project, build.ref}].insert(build.order);
  ++queued_;
}

void DispatchState::dequeue(Build& build, const std::string& /*id*/) {
  ProjectQueue& project = projects_[build.project];
  project.waiting.erase(key_of(build));
  if (project.waiting.empty()) waiting_projects_.erase(build.project);
  queued_by_order_.erase(build.order);
  if (!build.ref.empty()) {
    auto it = queued_by_ref_.find({build.project, build.ref});
    if (it != queued_by_ref_.end()) {
      it->second.erase(build.order);
      if (it->second.empty()) queued_by_ref_.erase(it);
    }
  }
  --queued_;
}

DispatchState::Phase DispatchState::phase(const std::string& build_id) const {
  auto it = builds_.find(build_id);
  return it == builds_.end() ? Phase::kUnknown : it->second.phase;
}

std::int32_t DispatchState::attempt(const std::string& build_id) const {
  auto it = builds_.find(build_id);
  return it == builds_.end() ? 0 : it->second.attempt;
}

std::size_t DispatchState::running_in_project(const std::string& project) const {
  auto it = projects_.find(project);
  return it == projects_.end() ? 0 : it->second.running;
}

Action DispatchState::make(Action::Kind kind, const std::string& id, const Build& build) const {
  Action action;
  action.kind = kind;
  action.build_id = id;
  action.project = build.project;
  action.requested_ms = build.requested_ms;
  return action;
}

std::vector<Action> DispatchState::decide(std::int64_t now_ms) {
  std::vector<Action> out;
  decide_cancels(now_ms, out);
  decide_timeouts(now_ms, out);
  decide_stuck(now_ms, out);
  decide_dispatch(now_ms, out);
  return out;
}

void DispatchState::decide_cancels(std::int64_t /*now_ms*/, std::vector<Action>& out) {
  std::vector<std::string> ids;
  for (const auto& [order, id] : queued_by_order_) {
    const Build& build = builds_.at(id);
    if (build.cancel_requested || !build.superseded_by.empty()) ids.push_back(id);
  }
  for (const auto& id : ids) {
    Build& build = builds_.at(id);
    if (build.cancel_requested) {
      Action cancelled = make(Action::Kind::kCancelled, id, build);
      cancelled.stage = v1::QUEUE;
      cancelled.reason = build.cancel_reason.empty() ? "cancel requested" : build.cancel_reason;
      out.push_back(std::move(cancelled));
    } else {
      const std::string reason = "superseded by " + build.superseded_by;
      Action request = make(Action::Kind::kCancelRequested, id, build);
      request.by = "scheduler";
      request.reason = reason;
      out.push_back(std::move(request));
      Action cancelled = make(Action::Kind::kCancelled, id, build);
      cancelled.stage = v1::QUEUE;
      cancelled.reason = reason;
      out.push_back(std::move(cancelled));
      build.cancel_requested = true;
    }
    on_terminal(build, id);
  }
}

void DispatchState::decide_timeouts(std::int64_t now_ms, std::vector<Action>& out) {
  std::vector<std::string> ids;
  for (const auto& [order, id] : queued_by_order_) {
    const Build& build = builds_.at(id);
    if (build.max_queue_seconds > 0 &&
        now_ms - build.requested_ms > std::int64_t{build.max_queue_seconds} * 1000) {
      ids.push_back(id);
    }
  }
  for (const auto& id : ids) {
    Build& build = builds_.at(id);
    Action failed = make(Action::Kind::kFailed, id, build);
    failed.stage = v1::QUEUE;
    failed.reason = "timeout: queued longer than " + std::to_string(build.max_queue_seconds) + " s";
    out.push_back(std::move(failed));
    on_terminal(build, id);
  }
}

// True when the running build's current attempt has nobody working on it: its owner has not
// vouched for it within worker_lost_seconds, or (unowned) no event came within stuck_seconds.
bool DispatchState::lost(Build& build, std::int64_t now_ms, std::string* why) {
  if (build.pushing) {
    // Built: the image is in the artifact store and its `built` message stays in the pusher
    // durable until a pusher settles it, so a lost pusher only means another one takes it after
    // the AckWait. A re-dispatch could not help (the builder skips a built build).
    const std::int64_t lost_ms = limits_.worker_lost_seconds * 1000;
    if (!build.worker.empty() && lost_ms > 0 && now_ms - build.worker_seen_ms > lost_ms) {
      build.worker.clear();
    }
    return false;
  }
  if (!build.worker.empty()) {
    const std::int64_t lost_ms = limits_.worker_lost_seconds * 1000;
    if (lost_ms <= 0 || now_ms - build.worker_seen_ms <= lost_ms) return false;
    *why = "worker lost: " + build.worker + " listed attempt " + std::to_string(build.attempt) +
           " in no heartbeat for " + std::to_string(limits_.worker_lost_seconds) + " s";
    return true;
  }
  const std::int64_t stuck_ms = limits_.stuck_seconds * 1000;
  if (stuck_ms <= 0 || now_ms - build.last_activity_ms <= stuck_ms) return false;
  *why = "worker lost: no worker took attempt " + std::to_string(build.attempt) +
         " and no event for " + std::to_string(limits_.stuck_seconds) + " s";
  return true;
}

void DispatchState::decide_stuck(std::int64_t now_ms, std::vector<Action>& out) {
  std::vector<std::pair<std::string, std::string>> lost_builds;
  for (const auto& id : running_ids_) {
    std::string why;
    if (lost(builds_.at(id), now_ms, &why)) lost_builds.emplace_back(id, std::move(why));
  }
  for (const auto& [id, why] : lost_builds) {
    Build& build = builds_.at(id);
    if (build.cancel_requested) {
      // Nobody is left to honour the cancel: end it here.
      Action cancelled = make(Action::Kind::kCancelled, id, build);
      cancelled.stage = v1::DISPATCH;
      cancelled.reason = "worker lost after cancel was requested";
      out.push_back(std::move(cancelled));
      on_terminal(build, id);
    } else if (build.attempt < limits_.max_attempts) {
      // The slot stays with the build: a re-dispatch never changes the running count.
      Action again = make(Action::Kind::kDispatched, id, build);
      again.attempt = build.attempt + 1;
      out.push_back(again);
      on_dispatched(build, again.attempt, now_ms);
    } else {
      Action failed = make(Action::Kind::kFailed, id, build);
      failed.stage = v1::DISPATCH;
      failed.reason = why;
      out.push_back(std::move(failed));
      on_terminal(build, id);
    }
  }
}

bool DispatchState::project_full(const ProjectQueue& queue, const Build& build) const {
  return build.project_limit > 0 && queue.running >= static_cast<std::size_t>(build.project_limit);
}

void DispatchState::decide_dispatch(std::int64_t now_ms, std::vector<Action>& out) {
  std::vector<std::string> picked;
  auto global_room = [&] {
    return limits_.global_limit <= 0 ||
           running_total_ < static_cast<std::size_t>(limits_.global_limit);
  };
  while (global_room() && !waiting_projects_.empty()) {
    const std::string* best_id = nullptr;
    const Build* best = nullptr;
    const ProjectQueue* best_queue = nullptr;
    for (const auto& name : waiting_projects_) {
      const ProjectQueue& queue = projects_.at(name);
      const auto& [key, id] = *queue.waiting.begin();
      const Build& head = builds_.at(id);
      if (project_full(queue, head)) continue;
      bool better = best == nullptr;
      if (!better) {
        if (head.priority != best->priority) {
          better = head.priority > best->priority;
        } else if (head.preferred != best->preferred) {
          better = head.preferred;
        } else if (queue.last_served != best_queue->last_served) {
          better = queue.last_served < best_queue->last_served;
        } else {
          better = head.order < best->order;
        }
      }
      if (better) {
        best_id = &id;
        best = &head;
        best_queue = &queue;
      }
    }
    if (best == nullptr) break;  // every waiting project is at its own limit
    const std::string id = *best_id;
    Build& build = builds_.at(id);
    on_dispatched(build, build.attempt + 1, now_ms);
    picked.push_back(id);
  }

  // Announce every build not yet announced: the picked ones at the head of the queue, the rest
  // in queue order with the limit that holds them back.
  std::vector<std::pair<QueueKey, std::string>> waiting;
  bool any_unannounced = false;
  for (const auto& [order, id] : queued_by_order_) {
    const Build& build = builds_.at(id);
    waiting.emplace_back(key_of(build), id);
    any_unannounced = any_unannounced || !build.queued_announced;
  }
  for (std::size_t i = 0; i < picked.size(); ++i) {
    Build& build = builds_.at(picked[i]);
    if (build.queued_announced) continue;
    Action queued = make(Action::Kind::kQueued, picked[i], build);
    queued.position = static_cast<std::int32_t>(i + 1);
    out.push_back(std::move(queued));
    build.queued_announced = true;
  }
  if (any_unannounced) {
    std::sort(waiting.begin(), waiting.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 0; i < waiting.size(); ++i) {
      Build& build = builds_.at(waiting[i].second);
      if (build.queued_announced) continue;
      Action queued = make(Action::Kind::kQueued, waiting[i].second, build);
      queued.position = static_cast<std::int32_t>(picked.size() + i + 1);
      queued.held_by = project_full(projects_.at(build.project), build) ? "project" : "global";
      out.push_back(std::move(queued));
      build.queued_announced = true;
    }
  }
  for (const auto& id : picked) {
    const Build& build = builds_.at(id);
    Action dispatched = make(Action::Kind::kDispatched, id, build);
    dispatched.attempt = build.attempt;
    out.push_back(std::move(dispatched));
  }
}

}  // namespace kiln::scheduler
