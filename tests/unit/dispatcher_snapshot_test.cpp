// A snapshot of the dispatcher's state is a cache of the log (dispatch_state.h): loading the
// snapshot of any prefix and folding the rest gives the state and the decisions of a replay from
// sequence 1, on random histories with duplicates, out-of-order cancels, step events of unknown
// builds, and gaps long enough to forget finished builds.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "events/envelope.h"
#include "scheduler/dispatch_state.h"

namespace kiln::scheduler {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;

struct Logged {
  v1::Envelope envelope;
  std::int64_t log_ms;
};

// Random histories: builds of a few projects go through some prefix of their life, with noise.
class HistoryMaker {
 public:
  explicit HistoryMaker(unsigned seed) : rng_(seed) {}

  std::vector<Logged> make(int builds) {
    std::vector<std::vector<v1::Envelope>> lives;
    for (int b = 0; b < builds; ++b) lives.push_back(life("b" + std::to_string(b)));
    std::vector<Logged> log;
    std::int64_t now = kT0;
    // Interleave the lives, keeping each one's own order.
    std::vector<std::size_t> next(lives.size(), 0);
    while (true) {
      std::vector<std::size_t> open;
      for (std::size_t i = 0; i < lives.size(); ++i) {
        if (next[i] < lives[i].size()) open.push_back(i);
      }
      if (open.empty()) break;
      const std::size_t i = open[pick(open.size())];
      // Mostly seconds apart; now and then a gap longer than the forgetting window.
      now += chance(3) ? 40'000 : 1 + static_cast<std::int64_t>(pick(3000));
      v1::Envelope e = lives[i][next[i]++];
      e.set_occurred_at_ms(now);
      log.push_back({e, now});
      if (chance(8)) log.push_back({e, now});  // a duplicate delivery stored twice
    }
    return log;
  }

 private:
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  bool chance(int percent) { return static_cast<int>(pick(100)) < percent; }

  v1::Envelope make(const std::string& id, int attempt = 1) {
    return events::new_envelope(id, "test", attempt);
  }

  std::vector<v1::Envelope> life(const std::string& id) {
    std::vector<v1::Envelope> out;
    if (chance(5)) {  // only step events of a build this log never requested
      auto step = make(id);
      step.mutable_step_started()->set_step(1);
      out.push_back(step);
      return out;
    }
    if (chance(5)) {  // a cancel or failure before the request
      auto failed = make(id);
      failed.mutable_failed()->set_stage(v1::QUEUE);
      out.push_back(failed);
    }
    auto requested = make(id);
    auto* r = requested.mutable_requested();
    r->set_project("p" + std::to_string(pick(3)));
    r->mutable_git()->set_ref(chance(50) ? "refs/heads/main" : "refs/heads/dev");
    r->mutable_git()->set_default_branch(chance(50));
    r->mutable_spec()->set_priority(static_cast<int>(pick(3)));
    r->mutable_spec()->set_supersede(chance(30));
    r->set_project_concurrency(static_cast<int>(pick(3)));
    r->set_max_queue_seconds(chance(20) ? 60 : 0);
    out.push_back(requested);
    const std::size_t stages = pick(8);
    if (stages >= 1) {
      auto queued = make(id);
      queued.mutable_queued()->set_position(1);
      out.push_back(queued);
    }
    if (chance(10)) {
      auto cancel = make(id);
      cancel.mutable_cancel_requested()->set_reason("by hand");
      out.push_back(cancel);
    }
    const int attempts = chance(20) ? 2 : 1;
    for (int attempt = 1; attempt <= attempts && stages >= 2; ++attempt) {
      auto dispatched = make(id, attempt);
      dispatched.mutable_dispatched()->set_attempt(attempt);
      out.push_back(dispatched);
      if (stages >= 3) {
        auto started = make(id, attempt);
        started.mutable_started()->set_attempt(attempt);
        started.mutable_started()->set_worker_id("w" + std::to_string(pick(2)));
        out.push_back(started);
      }
    }
    if (stages >= 4) {
      auto built = make(id, attempts);
      built.mutable_built()->set_attempt(attempts);
      out.push_back(built);
    }
    if (stages >= 5) {
      auto pushed = make(id, attempts);
      pushed.mutable_pushed();
      out.push_back(pushed);
    }
    if (stages >= 6) {
      auto end = make(id, attempts);
      switch (pick(3)) {
        case 0:
          end.mutable_succeeded();
          break;
        case 1:
          end.mutable_failed()->set_stage(v1::BUILD);
          break;
        default:
          end.mutable_cancelled()->set_stage(v1::BUILD);
      }
      out.push_back(end);
      if (chance(30)) out.push_back(requested);  // a late copy of the request
    }
    return out;
  }

  std::mt19937 rng_;
};

DispatchLimits limits() {
  DispatchLimits l;
  l.global_limit = 3;
  l.forget_terminal_after_ms = 30'000;  // shorter than the longest gaps: forgetting happens
  return l;
}

std::string describe(const std::vector<Action>& actions) {
  std::string out;
  for (const auto& a : actions) {
    out += std::to_string(static_cast<int>(a.kind)) + " " + a.build_id + " " +
           std::to_string(a.attempt) + " " + std::to_string(a.position) + " " + a.held_by + " " +
           a.reason + "\n";
  }
  return out;
}

TEST(DispatchSnapshot, SnapshotOfAnyPrefixPlusTheTailEqualsAReplayFromTheStart) {
  int forgotten_somewhere = 0;
  for (unsigned seed = 1; seed <= 60; ++seed) {
    const auto log = HistoryMaker(seed).make(40);
    DispatchState replay(limits());
    for (const auto& e : log) replay.apply(e.envelope, e.log_ms);

    std::mt19937 rng(seed);
    for (int trial = 0; trial < 5; ++trial) {
      const std::size_t cut = std::uniform_int_distribution<std::size_t>(0, log.size())(rng);
      DispatchState prefix(limits());
      for (std::size_t i = 0; i < cut; ++i) prefix.apply(log[i].envelope, log[i].log_ms);
      // Through bytes, as the scheduler stores it.
      snapshot::v1::DispatchSnapshot stored;
      ASSERT_TRUE(stored.ParseFromString(prefix.snapshot().SerializeAsString()));
      DispatchState resumed(limits());
      resumed.restore(stored);
      for (std::size_t i = cut; i < log.size(); ++i) resumed.apply(log[i].envelope, log[i].log_ms);

      ASSERT_EQ(resumed.snapshot().SerializeAsString(), replay.snapshot().SerializeAsString())
          << "seed " << seed << ", snapshot after " << cut << " of " << log.size() << " events\n"
          << resumed.snapshot().DebugString() << "\nvs replay\n"
          << replay.snapshot().DebugString();
      EXPECT_EQ(resumed.queued_count(), replay.queued_count()) << "seed " << seed;
      EXPECT_EQ(resumed.running_count(), replay.running_count()) << "seed " << seed;
      const std::int64_t now = log.back().log_ms + 5000;
      EXPECT_EQ(describe(resumed.decide(now)), describe(replay.decide(now)))
          << "seed " << seed << ", cut " << cut;
      // decide() changed `replay`; start the next trial from an untouched one.
      replay = DispatchState(limits());
      for (const auto& e : log) replay.apply(e.envelope, e.log_ms);
    }
    // A build that ended is no longer known as terminal once its window has passed.
    for (const auto& e : log) {
      const bool ended =
          e.envelope.has_succeeded() || e.envelope.has_failed() || e.envelope.has_cancelled();
      if (ended && replay.phase(e.envelope.build_id()) != DispatchState::Phase::kTerminal) {
        ++forgotten_somewhere;
      }
    }
  }
  EXPECT_GT(forgotten_somewhere, 0) << "the histories never exercised forgetting";
}

TEST(DispatchSnapshot, StepEventsOfUnknownBuildsLeaveNoTrace) {
  DispatchState state(limits());
  auto step = events::new_envelope("ghost", "test");
  step.mutable_step_started()->set_step(1);
  EXPECT_FALSE(state.apply(step, kT0));
  auto dispatched = events::new_envelope("ghost", "test");
  dispatched.mutable_dispatched()->set_attempt(1);
  EXPECT_FALSE(state.apply(dispatched, kT0));
  EXPECT_EQ(state.known_count(), 0u);
}

TEST(DispatchSnapshot, FinishedBuildsAreForgottenAfterTheWindowAndNotBefore) {
  DispatchState state(limits());
  auto requested = events::new_envelope("done", "test");
  requested.mutable_requested()->set_project("p");
  state.apply(requested, kT0);
  auto failed = events::new_envelope("done", "test");
  failed.mutable_failed()->set_stage(v1::QUEUE);
  state.apply(failed, kT0 + 1000);
  // A late copy of the request inside the window is recognised: nothing to queue.
  EXPECT_FALSE(state.apply(requested, kT0 + 20'000));
  EXPECT_EQ(state.queued_count(), 0u);
  EXPECT_EQ(state.phase("done"), DispatchState::Phase::kTerminal);
  auto other = events::new_envelope("other", "test");
  other.mutable_requested()->set_project("p");
  state.apply(other, kT0 + 31'001 + 1000);
  EXPECT_EQ(state.phase("done"), DispatchState::Phase::kUnknown) << "forgotten after the window";
  EXPECT_EQ(state.known_count(), 1u);
}

}  // namespace
}  // namespace kiln::scheduler
