// The dispatcher's core: a pure state machine over the build event log (no I/O, no clock).
//
// apply() folds one decoded envelope into the state. It is idempotent and order-tolerant: a
// duplicate changes nothing, an event for a build that is already terminal changes nothing, and a
// stale event (dispatched attempt 1 after attempt 2) changes nothing.
//
// decide(now) returns what the dispatcher must publish next, and applies those decisions to the
// state at once, as if they had already come back through the log. That keeps a second decide()
// before the events return from deciding differently (and exceeding a limit); when they do come
// back, apply() finds nothing to change. If publishing a decision fails, the caller must throw the
// state away and rebuild it from the log (SchedulerRunner does).
//
// Rules (docs in services/scheduler/README.md):
//   * running = dispatched and not terminal; never more than global_limit running, and never more
//     than a build's project_concurrency running in its project (0 = no project limit).
//   * order: priority (higher first), then default-branch and tag builds, then the project served
//     least recently (round-robin across projects), then FIFO within a project.
//   * a newer `requested` of the same project and ref supersedes an older one still queued when
//     the older one's spec.supersede is set: cancel_requested + cancelled (stage QUEUE).
//   * cancel_requested of a queued build: cancelled (stage QUEUE). Running builds are the
//     builder's and pusher's to cancel.
//   * queued longer than max_queue_seconds: failed (stage QUEUE, "timeout: ...").
//   * liveness comes from workers, not from events (a build step may be silent for hours): a
//     running attempt is owned by the worker that started it (builder) or whose heartbeat lists it
//     after `built` (pusher). An owned attempt is lost when no heartbeat of a worker of the
//     owning kind has listed it for worker_lost_seconds (the worker died, hangs, or dropped it).
//     A lost build attempt is re-dispatched as attempt+1 while attempt < max_attempts, then
//     failed (stage DISPATCH, "worker lost").
//   * a dispatched build no builder has taken, with no event for stuck_seconds, is treated the
//     same way.
//   * a built build is never re-dispatched: its `built` message stays in the pusher durable until
//     a pusher settles it (a lost pusher's goes to another after the AckWait), and the builder
//     skips a build that is built. A silent pusher only makes the build unowned again.
//   Heartbeats are timed by the scheduler's clock when they arrive (observe_heartbeat's now_ms),
//   so worker clocks never enter a verdict; after a rebuild every owned attempt gets a fresh
//   worker_lost_seconds (refresh_liveness) rather than a verdict on a stale view.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "kiln/events/v1/events.pb.h"
#include "kiln/snapshot/v1/dispatch.pb.h"

namespace kiln::scheduler {

namespace v1 = ::kiln::events::v1;

struct DispatchLimits {
  int global_limit = 4;              // running builds at once across all projects (0: no limit)
  std::int64_t stuck_seconds = 600;  // unowned running build with no event
  std::int64_t worker_lost_seconds = 30;  // owned attempt that no heartbeat lists
  int max_attempts = 2;                   // dispatch attempts before a lost worker fails the build
  // A terminal build is forgotten this long (log time) after its terminal event: by then
  // KILN_EVENTS no longer deduplicates a late copy of its events, so remembering it longer would
  // not stop a second build, and memory stays O(live builds + one window of finished ones).
  std::int64_t forget_terminal_after_ms = 25LL * 3600 * 1000;  // the 24 h duplicate window + 1 h
};

// One thing to publish. Its envelope is made by to_envelope() (dispatch_actions.h).
struct Action {
  enum class Kind { kQueued, kDispatched, kCancelRequested, kCancelled, kFailed };
  Kind kind = Kind::kQueued;
  std::string build_id;
  std::string project;
  std::int32_t attempt = 0;                 // kDispatched: the attempt
  std::int32_t position = 0;                // kQueued
  std::string held_by;                      // kQueued: "global", "project" or empty
  v1::Stage stage = v1::STAGE_UNSPECIFIED;  // kCancelled, kFailed
  std::string reason;                       // kCancelRequested, kCancelled, kFailed
  std::string by;                           // kCancelRequested
  std::int64_t requested_ms = 0;            // when the build was requested (for latency metrics)
};

class DispatchState {
 public:
  enum class Phase { kUnknown, kQueued, kRunning, kTerminal };

  explicit DispatchState(DispatchLimits limits) : limits_(limits) {}

  // Folds one event stored at `log_ms` (the stream's timestamp; 0: its occurred_at) into the
  // state; returns false when it changed nothing. Events of ids the state does not know change
  // nothing unless they can start one (requested, cancel_requested, a terminal event).
  bool apply(const v1::Envelope& envelope, std::int64_t log_ms = 0);
  // Folds one worker heartbeat (kiln_workers) received at `now_ms` into the liveness of the
  // attempts it lists; returns the number of running attempts it vouched for.
  int observe_heartbeat(const v1::WorkerHeartbeat& heartbeat, std::int64_t now_ms);
  // Gives every owned attempt until now_ms + worker_lost_seconds: called once the log has been
  // read, when what heartbeats said before is unknown.
  void refresh_liveness(std::int64_t now_ms);
  // The owner of the build's attempt vouches for it at `now_ms` (the scheduler's clock): called
  // when its `started` arrives live, so a worker's clock never enters a verdict.
  void vouch(const std::string& build_id, std::int64_t now_ms);
  // The worker owning the running build's attempt; empty when unowned or not running.
  std::string owner(const std::string& build_id) const;

  // The decisions due at `now_ms` (Unix ms), already applied to the state (see above).
  std::vector<Action> decide(std::int64_t now_ms);

  Phase phase(const std::string& build_id) const;
  std::int32_t attempt(const std::string& build_id) const;
  std::size_t queued_count() const { return queued_; }
  std::size_t running_count() const { return running_total_; }
  std::size_t running_in_project(const std::string& project) const;
  std::size_t known_count() const { return builds_.size(); }  // live builds and tombstones
  const DispatchLimits& limits() const { return limits_; }

  // The state as a snapshot (dispatch_snapshot.cpp); `restore` rebuilds an empty state from one.
  // Only a state fed by the log alone (no decide()) makes a faithful snapshot: decisions not yet
  // back from the log would otherwise be taken for facts.
  ::kiln::snapshot::v1::DispatchSnapshot snapshot() const;
  void restore(const ::kiln::snapshot::v1::DispatchSnapshot& snapshot);

 private:
  struct Build {
    Phase phase = Phase::kUnknown;
    bool requested = false;
    std::string project;
    std::string ref;
    std::int32_t priority = 0;
    bool preferred = false;  // default branch or tag
    bool supersede = false;
    std::int32_t project_limit = 0;
    std::int32_t max_queue_seconds = 0;
    std::int64_t requested_ms = 0;
    std::uint64_t order = 0;        // position of its `requested` in the log
    bool queued_announced = false;  // a `queued` event exists
    bool cancel_requested = false;
    std::string cancel_reason;
    std::string superseded_by;
    std::int32_t attempt = 0;
    std::int64_t last_activity_ms = 0;
    bool pushing = false;             // `built` seen for the current attempt: a pusher's to own
    std::string worker;               // owner of the current attempt; empty: unowned
    std::int64_t worker_seen_ms = 0;  // last time (scheduler clock) the owner vouched for it
  };

  // Key of a queued build within its project: priority desc, preferred first, FIFO.
  struct QueueKey {
    std::int32_t priority;
    bool preferred;
    std::uint64_t order;
    bool operator<(const QueueKey& o) const {
      if (priority != o.priority) return priority > o.priority;
      if (preferred != o.preferred) return preferred;
      return order < o.order;
    }
  };
  struct ProjectQueue {
    std::map<QueueKey, std::string> waiting;  // build ids
    std::size_t running = 0;
    std::uint64_t last_served = 0;  // dispatch counter when last served; 0: never
  };

  void on_requested(Build& build, const std::string& id, const v1::Envelope& envelope);
  bool on_dispatched(Build& build, std::int32_t attempt, std::int64_t at_ms);
  bool on_worker_event(Build& build, const v1::Envelope& envelope);
  bool on_terminal(Build& build, const std::string& id);
  void advance_log_time(std::int64_t log_ms);
  void enqueue(Build& build, const std::string& id);
  void dequeue(Build& build, const std::string& id);
  static QueueKey key_of(const Build& build) {
    return QueueKey{build.priority, build.preferred, build.order};
  }

  void decide_cancels(std::int64_t now_ms, std::vector<Action>& out);
  void decide_timeouts(std::int64_t now_ms, std::vector<Action>& out);
  void decide_stuck(std::int64_t now_ms, std::vector<Action>& out);
  bool lost(Build& build, std::int64_t now_ms, std::string* why);
  void decide_dispatch(std::int64_t now_ms, std::vector<Action>& out);
  bool project_full(const ProjectQueue& queue, const Build& build) const;
  Action make(Action::Kind kind, const std::string& id, const Build& build) const;

  DispatchLimits limits_;
  std::unordered_map<std::string, Build> builds_;
  std::map<std::string, ProjectQueue> projects_;
  std::set<std::string> waiting_projects_;  // projects with at least one queued build
  // Queued builds in log order, for the timeout, cancel and announcement scans.
  std::map<std::uint64_t, std::string> queued_by_order_;
  std::set<std::string> running_ids_;
  std::map<std::pair<std::string, std::string>, std::set<std::uint64_t>> queued_by_ref_;
  std::size_t queued_ = 0;
  std::size_t running_total_ = 0;
  std::uint64_t next_order_ = 1;
  std::uint64_t serve_counter_ = 0;
  std::int64_t log_ms_ = 0;  // the newest log time seen
  // Terminal builds in the order they ended, with the log time; forgotten from the front.
  std::deque<std::pair<std::int64_t, std::string>> tombstones_;
};

}  // namespace kiln::scheduler
