// DispatchState to and from a snapshot (dispatch_state.h). Indexes (queues, running sets, counts)
// are not stored: restore() derives them from the builds, so a snapshot cannot contradict itself.
#include <algorithm>

#include "scheduler/dispatch_state.h"

namespace kiln::scheduler {

namespace snap = ::kiln::snapshot::v1;

snap::DispatchSnapshot DispatchState::snapshot() const {
  snap::DispatchSnapshot out;
  out.set_format(1);
  out.set_log_ms(log_ms_);
  out.set_next_order(next_order_);
  out.set_serve_counter(serve_counter_);
  std::vector<const std::string*> ids;
  ids.reserve(builds_.size());
  for (const auto& [id, build] : builds_) {
    if (build.phase != Phase::kTerminal) ids.push_back(&id);
  }
  // Sorted, so equal states make equal bytes (tests compare them).
  std::sort(ids.begin(), ids.end(), [](const auto* a, const auto* b) { return *a < *b; });
  for (const std::string* id : ids) {
    const Build& b = builds_.at(*id);
    auto* live = out.add_builds();
    live->set_id(*id);
    live->set_phase(static_cast<int>(b.phase));
    live->set_requested(b.requested);
    live->set_project(b.project);
    live->set_ref(b.ref);
    live->set_priority(b.priority);
    live->set_preferred(b.preferred);
    live->set_supersede(b.supersede);
    live->set_project_limit(b.project_limit);
    live->set_max_queue_seconds(b.max_queue_seconds);
    live->set_requested_ms(b.requested_ms);
    live->set_order(b.order);
    live->set_queued_announced(b.queued_announced);
    live->set_cancel_requested(b.cancel_requested);
    live->set_cancel_reason(b.cancel_reason);
    live->set_superseded_by(b.superseded_by);
    live->set_attempt(b.attempt);
    live->set_last_activity_ms(b.last_activity_ms);
    live->set_pushing(b.pushing);
    live->set_worker(b.worker);
    live->set_worker_seen_ms(b.worker_seen_ms);
  }
  for (const auto& [log_ms, id] : tombstones_) {
    auto it = builds_.find(id);
    if (it == builds_.end() || it->second.phase != Phase::kTerminal) continue;
    auto* tombstone = out.add_tombstones();
    tombstone->set_id(id);
    tombstone->set_log_ms(log_ms);
    tombstone->set_requested(it->second.requested);
  }
  for (const auto& [name, project] : projects_) {
    if (project.last_served == 0) continue;
    auto* counters = out.add_projects();
    counters->set_project(name);
    counters->set_last_served(project.last_served);
  }
  return out;
}

void DispatchState::restore(const snap::DispatchSnapshot& snapshot) {
  log_ms_ = snapshot.log_ms();
  next_order_ = snapshot.next_order();
  serve_counter_ = snapshot.serve_counter();
  for (const auto& counters : snapshot.projects()) {
    projects_[counters.project()].last_served = counters.last_served();
  }
  for (const auto& tombstone : snapshot.tombstones()) {
    Build& build = builds_[tombstone.id()];
    build.phase = Phase::kTerminal;
    build.requested = tombstone.requested();
    tombstones_.emplace_back(tombstone.log_ms(), tombstone.id());
  }
  for (const auto& live : snapshot.builds()) {
    Build& b = builds_[live.id()];
    b.requested = live.requested();
    b.project = live.project();
    b.ref = live.ref();
    b.priority = live.priority();
    b.preferred = live.preferred();
    b.supersede = live.supersede();
    b.project_limit = live.project_limit();
    b.max_queue_seconds = live.max_queue_seconds();
    b.requested_ms = live.requested_ms();
    b.order = live.order();
    b.queued_announced = live.queued_announced();
    b.cancel_requested = live.cancel_requested();
    b.cancel_reason = live.cancel_reason();
    b.superseded_by = live.superseded_by();
    b.attempt = live.attempt();
    b.last_activity_ms = live.last_activity_ms();
    b.pushing = live.pushing();
    b.worker = live.worker();
    b.worker_seen_ms = live.worker_seen_ms();
    switch (static_cast<Phase>(live.phase())) {
      case Phase::kQueued:
        enqueue(b, live.id());
        break;
      case Phase::kRunning:
        b.phase = Phase::kRunning;
        running_ids_.insert(live.id());
        ++running_total_;
        ++projects_[b.project].running;
        break;
      default:
        b.phase = Phase::kUnknown;  // cancel requested before its request arrived
        break;
    }
  }
}

}  // namespace kiln::scheduler
