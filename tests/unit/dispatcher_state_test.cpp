// The dispatcher's state machine (services/scheduler/dispatch_state.h): table tests per rule and a
// property test over a random burst with random completions and duplicate deliveries.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "events/envelope.h"
#include "scheduler/dispatch_actions.h"
#include "scheduler/dispatch_state.h"

namespace kiln::scheduler {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;

struct RequestSpec {
  std::string project = "p";
  std::string ref = "refs/heads/feature";
  bool default_branch = false;
  int priority = 0;
  int project_limit = 0;
  int max_queue_seconds = 0;
  bool supersede = false;
  std::int64_t at_ms = kT0;
};

v1::Envelope requested(const std::string& id, const RequestSpec& spec = {}) {
  auto e = events::new_envelope(id, "test");
  e.set_occurred_at_ms(spec.at_ms);
  auto* r = e.mutable_requested();
  r->set_project(spec.project);
  r->mutable_git()->set_ref(spec.ref);
  r->mutable_git()->set_default_branch(spec.default_branch);
  r->mutable_spec()->set_priority(spec.priority);
  r->mutable_spec()->set_supersede(spec.supersede);
  r->set_project_concurrency(spec.project_limit);
  r->set_max_queue_seconds(spec.max_queue_seconds);
  events::seal(e);
  return e;
}

v1::Envelope event(const std::string& id, v1::Envelope::PayloadCase kind, std::int64_t at_ms,
                   int attempt = 1) {
  auto e = events::new_envelope(id, "test", attempt);
  e.set_occurred_at_ms(at_ms);
  switch (kind) {
    case v1::Envelope::kStarted:
      e.mutable_started()->set_attempt(attempt);
      break;
    case v1::Envelope::kSucceeded:
      e.mutable_succeeded();
      break;
    case v1::Envelope::kFailed:
      e.mutable_failed()->set_stage(v1::BUILD);
      break;
    case v1::Envelope::kCancelled:
      e.mutable_cancelled()->set_stage(v1::BUILD);
      break;
    case v1::Envelope::kCancelRequested:
      e.mutable_cancel_requested()->set_reason("by hand");
      break;
    case v1::Envelope::kDispatched:
      e.mutable_dispatched()->set_attempt(attempt);
      break;
    case v1::Envelope::kQueued:
      e.mutable_queued()->set_position(1);
      break;
    case v1::Envelope::kStepStarted:
      e.mutable_step_started()->set_step(1);
      break;
    case v1::Envelope::kBuilt:
      e.mutable_built()->set_attempt(attempt);
      break;
    case v1::Envelope::kPushed:
      e.mutable_pushed();
      break;
    default:
      ADD_FAILURE() << "unsupported kind";
  }
  events::seal(e);
  return e;
}

std::vector<std::string> ids_of(const std::vector<Action>& actions, Action::Kind kind) {
  std::vector<std::string> out;
  for (const auto& a : actions) {
    if (a.kind == kind) out.push_back(a.build_id);
  }
  return out;
}

const Action* find(const std::vector<Action>& actions, const std::string& id, Action::Kind kind) {
  for (const auto& a : actions) {
    if (a.build_id == id && a.kind == kind) return &a;
  }
  return nullptr;
}

// Feeds decisions back as the log would, so the state sees its own events (they must be no-ops).
void feed_back(DispatchState& state, const std::vector<Action>& actions, std::int64_t now) {
  for (const auto& a : actions) EXPECT_FALSE(state.apply(to_envelope(a, "test", now)));
}

TEST(DispatchStateTest, RequestedIsQueuedAndDispatchedWhenASlotIsFree) {
  DispatchState state({.global_limit = 2});
  ASSERT_TRUE(state.apply(requested("b1")));
  auto actions = state.decide(kT0);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].kind, Action::Kind::kQueued);
  EXPECT_EQ(actions[0].held_by, "");
  EXPECT_EQ(actions[1].kind, Action::Kind::kDispatched);
  EXPECT_EQ(actions[1].attempt, 1);
  EXPECT_EQ(state.phase("b1"), DispatchState::Phase::kRunning);
  feed_back(state, actions, kT0);
  EXPECT_TRUE(state.decide(kT0 + 1).empty());
}

TEST(DispatchStateTest, GlobalLimitHoldsBuildsBack) {
  DispatchState state({.global_limit = 2});
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(state.apply(requested("b" + std::to_string(i))));
  auto actions = state.decide(kT0);
  EXPECT_EQ(ids_of(actions, Action::Kind::kDispatched), (std::vector<std::string>{"b1", "b2"}));
  const Action* held = find(actions, "b3", Action::Kind::kQueued);
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->held_by, "global");
  EXPECT_EQ(held->position, 3);
  EXPECT_EQ(state.running_count(), 2u);
  ASSERT_TRUE(state.apply(event("b1", v1::Envelope::kSucceeded, kT0 + 10)));
  EXPECT_EQ(ids_of(state.decide(kT0 + 10), Action::Kind::kDispatched),
            std::vector<std::string>{"b3"});
}

TEST(DispatchStateTest, ProjectLimitHoldsOnlyItsProject) {
  DispatchState state({.global_limit = 10});
  ASSERT_TRUE(state.apply(requested("a1", {.project = "a", .project_limit = 1})));
  ASSERT_TRUE(state.apply(requested("a2", {.project = "a", .project_limit = 1})));
  ASSERT_TRUE(state.apply(requested("b1", {.project = "b", .project_limit = 1})));
  auto actions = state.decide(kT0);
  EXPECT_EQ(ids_of(actions, Action::Kind::kDispatched), (std::vector<std::string>{"a1", "b1"}));
  ASSERT_NE(find(actions, "a2", Action::Kind::kQueued), nullptr);
  EXPECT_EQ(find(actions, "a2", Action::Kind::kQueued)->held_by, "project");
  EXPECT_EQ(state.running_in_project("a"), 1u);
}

TEST(DispatchStateTest, PriorityThenDefaultBranchThenFifo) {
  DispatchState state({.global_limit = 1});
  ASSERT_TRUE(state.apply(event("x", v1::Envelope::kCancelled, kT0)));  // occupies nothing
  ASSERT_TRUE(state.apply(requested("run", {.project = "r"})));
  ASSERT_EQ(ids_of(state.decide(kT0), Action::Kind::kDispatched), std::vector<std::string>{"run"});
  ASSERT_TRUE(state.apply(requested("feature", {.project = "p"})));
  ASSERT_TRUE(state.apply(
      requested("main", {.project = "p", .ref = "refs/heads/main", .default_branch = true})));
  ASSERT_TRUE(state.apply(requested("tag", {.project = "p", .ref = "refs/tags/v1"})));
  ASSERT_TRUE(state.apply(requested("urgent", {.project = "p", .priority = 5})));
  std::vector<std::string> order;
  std::string previous = "run";
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(state.apply(event(previous, v1::Envelope::kSucceeded, kT0 + i)));
    auto dispatched = ids_of(state.decide(kT0 + i), Action::Kind::kDispatched);
    ASSERT_EQ(dispatched.size(), 1u);
    previous = dispatched[0];
    order.push_back(previous);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"urgent", "main", "tag", "feature"}));
}

TEST(DispatchStateTest, FairAcrossProjects) {
  // Project A's 500 queued builds cannot starve B's single one: B takes the next free slot.
  DispatchState state({.global_limit = 2});
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(state.apply(requested("a" + std::to_string(i), {.project = "a"})));
  }
  auto first = ids_of(state.decide(kT0), Action::Kind::kDispatched);
  ASSERT_EQ(first, (std::vector<std::string>{"a0", "a1"}));
  ASSERT_TRUE(state.apply(requested("b0", {.project = "b"})));
  EXPECT_TRUE(ids_of(state.decide(kT0 + 1), Action::Kind::kDispatched).empty());
  ASSERT_TRUE(state.apply(event("a0", v1::Envelope::kSucceeded, kT0 + 2)));
  EXPECT_EQ(ids_of(state.decide(kT0 + 2), Action::Kind::kDispatched),
            std::vector<std::string>{"b0"});
}

TEST(DispatchStateTest, RoundRobinAlternatesProjects) {
  DispatchState state({.global_limit = 0});
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(state.apply(requested("a" + std::to_string(i), {.project = "a"})));
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(state.apply(requested("b" + std::to_string(i), {.project = "b"})));
  }
  EXPECT_EQ(ids_of(state.decide(kT0), Action::Kind::kDispatched),
            (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2", "b2"}));
}

TEST(DispatchStateTest, NewerRequestSupersedesQueuedOne) {
  DispatchState state({.global_limit = 1});
  ASSERT_TRUE(state.apply(requested("busy", {.project = "other"})));
  state.decide(kT0);
  ASSERT_TRUE(state.apply(requested("old", {.supersede = true})));
  ASSERT_TRUE(state.apply(requested("other-branch", {.ref = "refs/heads/x", .supersede = true})));
  ASSERT_TRUE(state.apply(requested("new", {.supersede = true})));
  auto actions = state.decide(kT0 + 1);
  const Action* request = find(actions, "old", Action::Kind::kCancelRequested);
  const Action* cancelled = find(actions, "old", Action::Kind::kCancelled);
  ASSERT_NE(request, nullptr);
  ASSERT_NE(cancelled, nullptr);
  EXPECT_EQ(request->reason, "superseded by new");
  EXPECT_EQ(request->by, "scheduler");
  EXPECT_EQ(cancelled->stage, v1::QUEUE);
  EXPECT_EQ(find(actions, "other-branch", Action::Kind::kCancelled), nullptr);
  EXPECT_EQ(find(actions, "new", Action::Kind::kCancelled), nullptr);
  EXPECT_EQ(state.phase("old"), DispatchState::Phase::kTerminal);
  feed_back(state, actions, kT0 + 1);
}

TEST(DispatchStateTest, NoSupersedeWithoutTheFlagOrOnceRunning) {
  DispatchState state({.global_limit = 1});
  ASSERT_TRUE(state.apply(requested("running", {.supersede = true})));
  state.decide(kT0);
  ASSERT_TRUE(state.apply(requested("keep", {.supersede = false})));
  ASSERT_TRUE(state.apply(requested("newest", {.supersede = true})));
  auto actions = state.decide(kT0 + 1);
  EXPECT_TRUE(ids_of(actions, Action::Kind::kCancelled).empty());
  EXPECT_EQ(state.phase("running"), DispatchState::Phase::kRunning);
}

TEST(DispatchStateTest, CancelOfQueuedBuildCancelsItInTheQueue) {
  DispatchState state({.global_limit = 1});
  ASSERT_TRUE(state.apply(requested("running")));
  ASSERT_TRUE(state.apply(requested("queued", {.project = "q"})));
  state.decide(kT0);
  ASSERT_TRUE(state.apply(event("queued", v1::Envelope::kCancelRequested, kT0 + 1)));
  ASSERT_TRUE(state.apply(event("running", v1::Envelope::kCancelRequested, kT0 + 1)));
  auto actions = state.decide(kT0 + 1);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Action::Kind::kCancelled);
  EXPECT_EQ(actions[0].build_id, "queued");
  EXPECT_EQ(actions[0].stage, v1::QUEUE);
  EXPECT_EQ(actions[0].reason, "by hand");
  // The running one is the builder's to cancel.
  EXPECT_EQ(state.phase("running"), DispatchState::Phase::kRunning);
}

TEST(DispatchStateTest, QueueTimeoutFailsTheBuild) {
  DispatchState state({.global_limit = 1});
  ASSERT_TRUE(state.apply(requested("running")));
  ASSERT_TRUE(state.apply(requested("waits", {.project = "w", .max_queue_seconds = 30})));
  state.decide(kT0);
  EXPECT_TRUE(state.decide(kT0 + 30'000).empty());
  auto actions = state.decide(kT0 + 30'001);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Action::Kind::kFailed);
  EXPECT_EQ(actions[0].stage, v1::QUEUE);
  EXPECT_EQ(actions[0].reason, "timeout: queued longer than 30 s");
}

TEST(DispatchStateTest, StuckBuildIsRedispatchedThenFailed) {
  DispatchState state({.global_limit = 1, .stuck_seconds = 60, .max_attempts = 2});
  ASSERT_TRUE(state.apply(requested("b")));
  ASSERT_TRUE(state.apply(requested("waiting", {.project = "w"})));
  state.decide(kT0);
  ASSERT_TRUE(state.apply(event("b", v1::Envelope::kStarted, kT0 + 50'000)));
  EXPECT_TRUE(state.decide(kT0 + 100'000).empty());  // activity at +50 s keeps it alive
  auto again = state.decide(kT0 + 110'001);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].kind, Action::Kind::kDispatched);
  EXPECT_EQ(again[0].attempt, 2);
  EXPECT_EQ(state.running_count(), 1u);  // the slot stayed with it
  // A late dispatched of attempt 1 changes nothing.
  EXPECT_FALSE(state.apply(event("b", v1::Envelope::kDispatched, kT0, 1)));
  auto failed = state.decide(kT0 + 170'002);
  const Action* f = find(failed, "b", Action::Kind::kFailed);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->stage, v1::DISPATCH);
  EXPECT_EQ(f->reason.rfind("worker lost", 0), 0u);
  EXPECT_EQ(ids_of(failed, Action::Kind::kDispatched), std::vector<std::string>{"waiting"});
}

v1::Envelope started_on(const std::string& id, const std::string& worker, std::int64_t at_ms,
                        int attempt = 1) {
  auto e = event(id, v1::Envelope::kStarted, at_ms, attempt);
  e.mutable_started()->set_worker_id(worker);
  return e;
}

v1::WorkerHeartbeat heartbeat(const std::string& worker, const std::string& kind,
                              std::vector<std::pair<std::string, int>> running) {
  v1::WorkerHeartbeat h;
  h.set_worker_id(worker);
  h.set_kind(kind);
  h.set_state("active");
  for (const auto& [id, attempt] : running) {
    auto* entry = h.add_running();
    entry->set_build_id(id);
    entry->set_attempt(attempt);
  }
  return h;
}

TEST(DispatchStateTest, SilentStepIsNotLostWhileItsWorkerListsIt) {
  DispatchState state(
      {.global_limit = 1, .stuck_seconds = 15, .worker_lost_seconds = 10, .max_attempts = 2});
  ASSERT_TRUE(state.apply(requested("b")));
  state.decide(kT0);
  ASSERT_TRUE(state.apply(started_on("b", "builder-1", kT0 + 1'000)));
  EXPECT_EQ(state.owner("b"), "builder-1");
  // Two hours without a single build event, a heartbeat every 5 s.
  for (std::int64_t t = kT0 + 5'000; t <= kT0 + 2 * 3600 * 1000; t += 5'000) {
    EXPECT_EQ(state.observe_heartbeat(heartbeat("builder-1", "builder", {{"b", 1}}), t), 1);
    ASSERT_TRUE(state.decide(t).empty()) << "at +" << (t - kT0) / 1000 << " s";
  }
  // The worker stops listing it (died, or dropped it): lost after worker_lost_seconds.
  const std::int64_t last = kT0 + 2 * 3600 * 1000;
  EXPECT_TRUE(state.decide(last + 10'000).empty());
  auto again = state.decide(last + 10'001);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].kind, Action::Kind::kDispatched);
  EXPECT_EQ(again[0].attempt, 2);
  EXPECT_EQ(state.owner("b"), "");
}

TEST(DispatchStateTest, HeartbeatsVouchOnlyForTheirStageAndAttempt) {
  DispatchState state(
      {.global_limit = 1, .stuck_seconds = 600, .worker_lost_seconds = 10, .max_attempts = 2});
  ASSERT_TRUE(state.apply(requested("b")));
  state.decide(kT0);
  ASSERT_TRUE(state.apply(started_on("b", "builder-1", kT0)));
  // Another attempt's listing vouches for nothing.
  EXPECT_EQ(state.observe_heartbeat(heartbeat("builder-1", "builder", {{"b", 2}}), kT0 + 5'000), 0);
  ASSERT_TRUE(state.apply(event("b", v1::Envelope::kBuilt, kT0 + 6'000)));
  EXPECT_EQ(state.owner("b"), "");  // built: a pusher's to take
  // A builder heartbeat taken before `built` arrives late: no ownership.
  EXPECT_EQ(state.observe_heartbeat(heartbeat("builder-1", "builder", {{"b", 1}}), kT0 + 7'000), 0);
  EXPECT_EQ(state.observe_heartbeat(heartbeat("pusher-1", "pusher", {{"b", 1}}), kT0 + 8'000), 1);
  EXPECT_EQ(state.owner("b"), "pusher-1");
  // The pusher goes silent: no re-dispatch (its message returns to another pusher), unowned.
  EXPECT_TRUE(state.decide(kT0 + 18'001).empty());
  EXPECT_EQ(state.owner("b"), "");
  EXPECT_EQ(state.attempt("b"), 1);
  // Nor later: a built build waits for a pusher, however long.
  EXPECT_TRUE(state.decide(kT0 + 18'001 + 3'600'000).empty());
  EXPECT_EQ(state.attempt("b"), 1);
  EXPECT_EQ(state.observe_heartbeat(heartbeat("pusher-2", "pusher", {{"b", 1}}), kT0 + 3'700'000),
            1);
  EXPECT_EQ(state.owner("b"), "pusher-2");
}

TEST(DispatchStateTest, AWorkerClockBehindTheSchedulersDoesNotMakeALostVerdict) {
  DispatchState state(
      {.global_limit = 1, .stuck_seconds = 600, .worker_lost_seconds = 10, .max_attempts = 2});
  ASSERT_TRUE(state.apply(requested("b")));
  state.decide(kT0);
  // The builder's clock is an hour behind: its `started` says T0 - 1 h.
  ASSERT_TRUE(state.apply(started_on("b", "builder-1", kT0 - 3'600'000)));
  state.vouch("b", kT0 + 1'000);  // arrival time on the scheduler's clock
  EXPECT_TRUE(state.decide(kT0 + 11'000).empty());
  EXPECT_EQ(state.decide(kT0 + 11'001).size(), 1u);
}

TEST(DispatchStateTest, RebuiltStateGivesOwnedAttemptsAFreshWindow) {
  DispatchState state(
      {.global_limit = 1, .stuck_seconds = 600, .worker_lost_seconds = 10, .max_attempts = 2});
  ASSERT_TRUE(state.apply(requested("b")));
  ASSERT_TRUE(state.apply(event("b", v1::Envelope::kDispatched, kT0, 1)));
  ASSERT_TRUE(state.apply(started_on("b", "builder-1", kT0)));
  // Read back an hour later: no verdict from what is not known.
  const std::int64_t ready = kT0 + 3600 * 1000;
  state.refresh_liveness(ready);
  EXPECT_TRUE(state.decide(ready + 10'000).empty());
  auto again = state.decide(ready + 10'001);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 2);
}

TEST(DispatchStateTest, TerminalIsFinalAndDuplicatesChangeNothing) {
  DispatchState state({.global_limit = 4});
  auto req = requested("b");
  ASSERT_TRUE(state.apply(req));
  EXPECT_FALSE(state.apply(req));
  auto actions = state.decide(kT0);
  feed_back(state, actions, kT0);
  auto started = event("b", v1::Envelope::kStarted, kT0 + 1);
  EXPECT_TRUE(state.apply(started));
  EXPECT_FALSE(state.apply(started));
  auto done = event("b", v1::Envelope::kSucceeded, kT0 + 2);
  EXPECT_TRUE(state.apply(done));
  for (auto kind : {v1::Envelope::kSucceeded, v1::Envelope::kFailed, v1::Envelope::kCancelled,
                    v1::Envelope::kCancelRequested, v1::Envelope::kStarted, v1::Envelope::kBuilt,
                    v1::Envelope::kPushed, v1::Envelope::kQueued}) {
    EXPECT_FALSE(state.apply(event("b", kind, kT0 + 3))) << kind;
  }
  EXPECT_FALSE(state.apply(event("b", v1::Envelope::kDispatched, kT0 + 3, 2)));
  EXPECT_FALSE(state.apply(req));
  EXPECT_EQ(state.phase("b"), DispatchState::Phase::kTerminal);
  EXPECT_EQ(state.running_count(), 0u);
  EXPECT_TRUE(state.decide(kT0 + 1'000'000).empty());
}

TEST(DispatchStateTest, TerminalBeforeRequestedNeverQueues) {
  DispatchState state({.global_limit = 4});
  ASSERT_TRUE(state.apply(event("b", v1::Envelope::kCancelled, kT0)));
  EXPECT_TRUE(state.apply(requested("b")));
  EXPECT_EQ(state.queued_count(), 0u);
  EXPECT_TRUE(state.decide(kT0).empty());
}

TEST(DispatchStateTest, ReplayOfTheLogRebuildsTheSameState) {
  // A restarted or standby scheduler applies the leader's events and decides nothing new.
  DispatchState leader({.global_limit = 2});
  std::vector<v1::Envelope> log;
  for (int i = 0; i < 5; ++i) {
    log.push_back(requested("b" + std::to_string(i), {.project = i % 2 ? "x" : "y"}));
    leader.apply(log.back());
  }
  for (const auto& a : leader.decide(kT0)) log.push_back(to_envelope(a, "test", kT0));
  DispatchState replica({.global_limit = 2});
  for (const auto& e : log) replica.apply(e);
  EXPECT_EQ(replica.running_count(), 2u);
  EXPECT_EQ(replica.queued_count(), 3u);
  EXPECT_TRUE(replica.decide(kT0).empty());
}

// Property: a random burst of requests across projects with random completions, out-of-order
// delivery of the state's own events and duplicate deliveries of everything.
TEST(DispatchStateTest, PropertyBurstNeverExceedsLimitsAndDispatchesEveryBuildOnce) {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    std::mt19937 rng(seed);
    const int global_limit = 1 + static_cast<int>(rng() % 6);
    DispatchState state({.global_limit = global_limit, .stuck_seconds = 0});
    const std::vector<std::string> projects = {"a", "b", "c", "d"};
    std::map<std::string, int> limit_of = {{"a", 0}, {"b", 1}, {"c", 2}, {"d", 3}};
    std::vector<v1::Envelope> pending;  // delivered in random order, some twice
    for (int i = 0; i < 500; ++i) {
      // Project a bursts (the fairness case); the others trickle in.
      const std::string project = i % 5 == 0 ? projects[1 + rng() % 3] : "a";
      pending.push_back(requested("r" + std::to_string(i), {.project = project,
                                                            .priority = static_cast<int>(rng() % 2),
                                                            .project_limit = limit_of[project]}));
    }
    std::map<std::string, int> dispatched;  // build -> dispatches of attempt 1
    std::set<std::string> running;
    std::set<std::string> done;
    std::map<std::string, std::int64_t> first_waiting_since;  // per project, for fairness
    std::int64_t now = kT0;
    int rounds = 0;
    while (done.size() < 500 && rounds++ < 100'000) {
      now += 10;
      // Deliver a random slice of pending events, each possibly twice.
      std::shuffle(pending.begin(), pending.end(), rng);
      const std::size_t n = std::min<std::size_t>(pending.size(), 1 + rng() % 20);
      for (std::size_t i = 0; i < n; ++i) {
        state.apply(pending.back());
        if (rng() % 3 == 0) state.apply(pending.back());
        pending.pop_back();
      }
      for (const auto& a : state.decide(now)) {
        if (a.kind == Action::Kind::kDispatched) {
          EXPECT_EQ(a.attempt, 1);
          ++dispatched[a.build_id];
          running.insert(a.build_id);
        }
        // The decision comes back through the log later, maybe twice.
        pending.push_back(to_envelope(a, "test", now));
        if (rng() % 4 == 0) pending.push_back(to_envelope(a, "test", now));
      }
      // Limits hold at every step, by the state's count and by ours.
      ASSERT_LE(running.size(), static_cast<std::size_t>(global_limit));
      ASSERT_LE(state.running_count(), static_cast<std::size_t>(global_limit));
      for (const auto& [project, limit] : limit_of) {
        if (limit > 0) {
          ASSERT_LE(state.running_in_project(project), static_cast<std::size_t>(limit));
        }
      }
      // Random completions of running builds.
      for (auto it = running.begin(); it != running.end();) {
        if (rng() % 3 == 0) {
          auto finished =
              event(*it, rng() % 2 ? v1::Envelope::kSucceeded : v1::Envelope::kFailed, now);
          state.apply(finished);
          pending.push_back(finished);  // and a duplicate later
          done.insert(*it);
          it = running.erase(it);
        } else {
          ++it;
        }
      }
    }
    ASSERT_EQ(done.size(), 500u) << "seed " << seed;
    for (int i = 0; i < 500; ++i) {
      EXPECT_EQ(dispatched["r" + std::to_string(i)], 1) << "r" << i << " seed " << seed;
    }
    EXPECT_EQ(state.queued_count(), 0u);
    EXPECT_EQ(state.running_count(), 0u);
  }
}

// Fairness as a property: while project a has a backlog of 500 and every slot is busy, a build of
// another project takes the very next free slot.
TEST(DispatchStateTest, PropertyFairnessSmallProjectTakesTheNextFreeSlot) {
  std::mt19937 rng(42);
  DispatchState state({.global_limit = 3});
  for (int i = 0; i < 500; ++i) state.apply(requested("a" + std::to_string(i), {.project = "a"}));
  std::vector<std::string> running = ids_of(state.decide(kT0), Action::Kind::kDispatched);
  ASSERT_EQ(running.size(), 3u);
  std::int64_t now = kT0;
  for (int round = 0; round < 100; ++round) {
    now += 10;
    std::string small;
    if (round % 4 == 0) {
      small = "s" + std::to_string(round);
      state.apply(requested(small, {.project = "p" + std::to_string(rng() % 3)}));
    }
    // Free one random slot; exactly one build takes it.
    const std::size_t victim = rng() % running.size();
    state.apply(event(running[victim], v1::Envelope::kSucceeded, now));
    running.erase(running.begin() + static_cast<long>(victim));
    auto next = ids_of(state.decide(now), Action::Kind::kDispatched);
    ASSERT_EQ(next.size(), 1u);
    if (!small.empty()) {
      EXPECT_EQ(next[0], small) << "round " << round;
    }
    running.push_back(next[0]);
  }
}

}  // namespace
}  // namespace kiln::scheduler
