// kiln's fence on a 3-node NATS cluster: `built` and `pushed` are published with
// Nats-Expected-Last-Subject-Sequence 0, so of two attempts of one build only the first is
// stored. Before nats-server 2.9.21 two concurrent publishes could both pass that check on a
// clustered stream (nats-io/nats-server#4320). Here two attempts race through different nodes,
// while the stream's leader steps down and while the leader's node is killed with SIGKILL; each
// attempt retries what kiln retries (a timeout, no responders) with its own Msg-Id, as the
// builder does.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <functional>
#include <thread>

#include "bus/bus.h"
#include "bus/cluster.h"
#include "bus/consumer.h"
#include "bus/topology.h"
#include "support/nats_cluster.h"

namespace kiln::bus {
namespace {

using Clock = std::chrono::steady_clock;

enum class Outcome { kStored, kFenced, kFailed };

// One attempt's publish of `built`, as the builder and pusher publish theirs: retried on errors
// that leave the outcome unknown; a fenced publish looks at what is stored. The stored event may
// be its own (a first try stored whose ack was lost fences the retry, and on a cluster the retry
// may meet the fence before the duplicate check). Nothing stored at all happens too: a leader
// checks the fence against messages still in flight, and one lost in a leader change fenced
// others without ever being stored. Then the fence proved nothing, and the publish is retried.
Outcome publish_built(Bus& bus, const std::string& build_id, const std::string& attempt,
                      std::string* error) {
  const std::string subject = "kiln.build.built." + build_id;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (true) {
    auto ack = bus.publish(subject, attempt, build_id + ":" + attempt, std::uint64_t{0});
    if (ack.ok()) return Outcome::kStored;
    if (ack.error().code == ErrorCode::kFailedPrecondition) {
      auto stored = last_message(bus, kEventsStream, subject);
      if (stored.ok() && stored->has_value()) {
        return (*stored)->data() == attempt ? Outcome::kStored : Outcome::kFenced;
      }
    } else if (ack.error().code != ErrorCode::kDeadlineExceeded &&
               ack.error().code != ErrorCode::kUnavailable) {
      *error = ack.error().describe();
      return Outcome::kFailed;
    }
    if (Clock::now() > deadline) {
      *error = "no outcome within 30 s; last: " + ack.error().describe();
      return Outcome::kFailed;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

class ClusterFenceTest : public ::testing::Test {
 protected:
  // Races attempts "a" (through node `node_a`) and "b" (through another node) on `builds`
  // builds, while `disturb` runs beside them; then checks that each build has exactly one
  // `built`, the one its winner was told was stored.
  void race(const std::string& prefix, int builds, const std::function<void()>& disturb,
            int node_a = 0) {
    // Each attempt dials one node; the node tells it of the others, for when it dies.
    auto a = cluster_.connect("attempt-a", cluster_.node(node_a).url());
    auto b = cluster_.connect("attempt-b", cluster_.node((node_a + 1) % cluster_.size()).url());
    std::vector<Outcome> outcome_a(static_cast<std::size_t>(builds));
    std::vector<Outcome> outcome_b(static_cast<std::size_t>(builds));
    std::string error_a, error_b;
    std::barrier start_together(2);
    std::atomic<bool> racing{true};
    auto run = [&](Bus& bus, const char* attempt, std::vector<Outcome>& out, std::string& error) {
      for (int i = 0; i < builds; ++i) {
        start_together.arrive_and_wait();
        out[static_cast<std::size_t>(i)] =
            publish_built(bus, prefix + std::to_string(i), attempt, &error);
      }
    };
    std::thread disturber([&] {
      while (racing) disturb();
    });
    std::thread racer_a(run, std::ref(*a), "a", std::ref(outcome_a), std::ref(error_a));
    std::thread racer_b(run, std::ref(*b), "b", std::ref(outcome_b), std::ref(error_b));
    racer_a.join();
    racer_b.join();
    racing = false;
    disturber.join();
    ASSERT_TRUE(error_a.empty()) << error_a;
    ASSERT_TRUE(error_b.empty()) << error_b;

    // The check reads through a node that was not disturbed (a killed one may still be
    // rejoining, or, with nats-server 2.10.27, stay behind for good), from the stream's leader.
    auto reader = cluster_.connect("checker", cluster_.node((node_a + 1) % cluster_.size()).url());
    ASSERT_NO_FATAL_FAILURE(await_leader(*reader));
    for (int i = 0; i < builds; ++i) {
      const auto ai = outcome_a[static_cast<std::size_t>(i)];
      const auto bi = outcome_b[static_cast<std::size_t>(i)];
      ASSERT_TRUE((ai == Outcome::kStored) != (bi == Outcome::kStored))
          << "build " << i << ": " << (ai == Outcome::kStored ? "both" : "neither")
          << " attempt(s) found their `built` stored";
      auto last =
          last_message(*reader, kEventsStream, "kiln.build.built." + prefix + std::to_string(i));
      ASSERT_TRUE(last.ok()) << "build " << i << ": " << last.error().describe();
      ASSERT_TRUE(last->has_value()) << "build " << i << ": nothing stored";
      EXPECT_EQ((*last)->data(), ai == Outcome::kStored ? "a" : "b") << "build " << i;
    }
  }

  void await_leader(Bus& bus) {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    std::string last = "not asked";
    while (Clock::now() < deadline) {
      auto leader = stream_leader(bus, kEventsStream);
      if (leader.ok() && !leader->empty()) return;
      last = leader.ok() ? "no leader" : leader.error().describe();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    auto replicas = stream_replicas_missing(bus, kEventsStream);
    FAIL() << "KILN_EVENTS had no leader 30 s after the race: " << last
           << "; replicas: " << (replicas.ok() ? *replicas : replicas.error().describe());
  }

  // Messages in KILN_EVENTS, counted by the stream itself, asked through node `via`.
  std::uint64_t stored_events(int via) {
    auto reader = cluster_.connect("counter", cluster_.node(via).url());
    auto last = last_stream_sequence(*reader, kEventsStream);
    EXPECT_TRUE(last.ok()) << last.error().describe();
    return last.ok() ? *last : 0;
  }

  testing::NatsCluster cluster_{3};
};

TEST_F(ClusterFenceTest, TwoAttemptsThroughDifferentNodesStoreOneBuiltAcrossLeaderChanges) {
  auto operator_bus = cluster_.connect("operator", cluster_.urls());
  auto first_leader = stream_leader(*operator_bus, kEventsStream);
  ASSERT_TRUE(first_leader.ok() && !first_leader->empty());
  int step_downs = 0;
  race("stepdown-", 1000, [&] {
    if (step_down_stream_leader(*operator_bus, kEventsStream).ok()) ++step_downs;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  });
  EXPECT_GT(step_downs, 0) << "the race ran without a single leader change";
  EXPECT_EQ(stored_events(1), 1000u) << "a fenced attempt's `built` was stored as well";
}

// Attempt "a" is connected to the leader's node: its connection must move to another node.
TEST_F(ClusterFenceTest, TwoAttemptsStoreOneBuiltWhileTheLeadersNodeIsKilled) {
  auto operator_bus = cluster_.connect("operator", cluster_.urls());
  auto leader = stream_leader(*operator_bus, kEventsStream);
  ASSERT_TRUE(leader.ok());
  const int victim = cluster_.index_of(*leader);
  ASSERT_GE(victim, 0) << "leader " << *leader;
  bool killed = false;
  race(
      "kill-", 300,
      [&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        if (!killed) {
          cluster_.node(victim).kill9();
          killed = true;
          std::this_thread::sleep_for(std::chrono::seconds(1));
          cluster_.node(victim).restart();
        }
      },
      victim);
  EXPECT_TRUE(killed);
  EXPECT_EQ(stored_events((victim + 1) % cluster_.size()), 300u)
      << "a fenced attempt's `built` was stored as well";
}

}  // namespace
}  // namespace kiln::bus
