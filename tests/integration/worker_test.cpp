// libs/worker against a real nats-server with JetStream (started per test on a free port): the
// work loop delivers, a heartbeat keeps AckWait from redelivering long work, a stop hands the
// running message back, the cancel watcher reaches a running job, the event-log checks.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "bus/consumer.h"
#include "bus/topology.h"
#include "events/envelope.h"
#include "events/subjects.h"
#include "support/servers.h"
#include "worker/build_events.h"
#include "worker/cancel_watcher.h"
#include "worker/heartbeat.h"
#include "worker/running_jobs.h"
#include "worker/settle.h"
#include "worker/work_loop.h"

namespace kiln::worker {
namespace {

namespace v1 = events::v1;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kAckWaitSeconds = 2;

// Waits until `done()` or the deadline; true when done.
template <typename Predicate>
bool eventually(Predicate done, milliseconds limit = seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return done();
}

// What the handler saw, shared with the slot threads.
struct Seen {
  std::mutex mutex;
  std::vector<std::string> build_ids;
  std::vector<std::uint64_t> deliveries;

  void add(const bus::Message& message) {
    std::lock_guard lock(mutex);
    const std::string subject(message.subject());
    build_ids.push_back(subject.substr(subject.rfind('.') + 1));
    deliveries.push_back(message.deliveries());
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return build_ids.size();
  }
};

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto connected = bus::Bus::connect(bus::BusOptions{.url = nats_.url(), .name = "worker-test"});
    ASSERT_TRUE(connected.ok()) << connected.error().describe();
    bus_ = std::move(connected.value());
    auto provisioned = bus::provision(*bus_, topology());
    ASSERT_TRUE(provisioned.ok()) << provisioned.error().describe();
  }

  static bus::TopologyOptions topology(int ack_wait_seconds = kAckWaitSeconds) {
    bus::TopologyOptions options;
    options.builder_ack_wait_seconds = ack_wait_seconds;
    return options;
  }

  WorkLoopOptions loop_options(int slots, int ack_wait_seconds = kAckWaitSeconds) {
    return WorkLoopOptions{.consumer = bus::builder_consumer(topology(ack_wait_seconds)),
                           .slots = slots,
                           .fetch_timeout_ms = 200,
                           .bind_failed_log = "binding the test consumer failed; retrying",
                           .fetch_failed_log = "fetching test messages failed",
                           .on_stop = {}};
  }

  void publish(v1::Envelope envelope) {
    auto encoded = events::encode(envelope);
    auto ack = bus_->publish(encoded.subject, encoded.data, encoded.msg_id);
    ASSERT_TRUE(ack.ok()) << ack.error().describe();
  }

  void publish_dispatched(const std::string& build_id) {
    auto envelope = events::new_envelope(build_id, "worker-test", 1);
    envelope.mutable_dispatched()->set_attempt(1);
    publish(std::move(envelope));
  }

  // Everything the durable still holds for delivery now (acked messages are gone; a naked one
  // comes back at once; one whose AckWait runs does not).
  std::vector<bus::Message> pending(int ack_wait_seconds, int timeout_ms = 1000) {
    auto consumer =
        bus::PullConsumer::bind(*bus_, bus::builder_consumer(topology(ack_wait_seconds)));
    EXPECT_TRUE(consumer.ok()) << consumer.error().describe();
    if (!consumer.ok()) return {};
    auto batch = (*consumer)->fetch(10, timeout_ms);
    EXPECT_TRUE(batch.ok()) << batch.error().describe();
    if (!batch.ok()) return {};
    return std::move(batch.value());
  }

  testing::NatsServer nats_;
  std::unique_ptr<bus::Bus> bus_;
};

TEST_F(WorkerTest, WorkLoopDeliversEveryMessageOnceAcrossSlots) {
  Seen seen;
  WorkLoop loop(*bus_, loop_options(2), [&seen](bus::Message& message) {
    seen.add(message);
    settle(message, Settle::kAck, "");
  });
  ASSERT_TRUE(loop.start().ok());
  for (const char* id : {"build-1", "build-2", "build-3", "build-4"}) publish_dispatched(id);

  ASSERT_TRUE(eventually([&seen] { return seen.size() >= 4; }));
  loop.stop();
  EXPECT_EQ(std::set<std::string>(seen.build_ids.begin(), seen.build_ids.end()),
            (std::set<std::string>{"build-1", "build-2", "build-3", "build-4"}));
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_TRUE(pending(kAckWaitSeconds).empty());  // all acked
}

TEST_F(WorkerTest, WorkLoopStartFailsWhenTheStreamIsMissing) {
  auto options = loop_options(1);
  options.consumer.stream = "NO_SUCH_STREAM";
  WorkLoop loop(*bus_, options, [](bus::Message&) {});
  auto started = loop.start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, ErrorCode::kNotFound) << started.error().describe();
  EXPECT_EQ(started.error().peer_code, "JS 10059") << "JSStreamNotFoundErr";
}

// The control for the next test: without in-progress acks, the server hands a message held
// longer than AckWait to another slot.
TEST_F(WorkerTest, WithoutHeartbeatLongWorkIsRedelivered) {
  Seen seen;
  WorkLoop loop(*bus_, loop_options(2), [&seen](bus::Message& message) {
    seen.add(message);
    if (message.deliveries() == 1) std::this_thread::sleep_for(seconds(kAckWaitSeconds + 2));
    settle(message, Settle::kAck, "");
  });
  ASSERT_TRUE(loop.start().ok());
  publish_dispatched("build-slow");
  EXPECT_TRUE(eventually([&seen] { return seen.size() >= 2; }));
  loop.stop();
}

TEST_F(WorkerTest, HeartbeatKeepsLongWorkFromBeingRedelivered) {
  Seen seen;
  WorkLoop loop(*bus_, loop_options(2), [&seen](bus::Message& message) {
    seen.add(message);
    {
      Heartbeat heartbeat(message, milliseconds(500));
      std::this_thread::sleep_for(seconds(kAckWaitSeconds * 2 + 1));
    }
    settle(message, Settle::kAck, "");
  });
  ASSERT_TRUE(loop.start().ok());
  publish_dispatched("build-slow");
  ASSERT_TRUE(eventually([&seen] { return seen.size() >= 1; }));
  // Held for twice the AckWait and more; the idle slot must not have been given it again.
  std::this_thread::sleep_for(seconds(kAckWaitSeconds * 2 + 2));
  loop.stop();
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen.deliveries, (std::vector<std::uint64_t>{1}));
}

TEST_F(WorkerTest, StopHandsTheRunningMessageBackAtOnce) {
  // A long AckWait: the message can only come back this fast because it was naked.
  constexpr int kLongAckWait = 60;
  RunningJobs running;
  Seen seen;
  int on_stop_calls = 0;
  auto options = loop_options(1, kLongAckWait);
  options.on_stop = [&running, &on_stop_calls] {
    ++on_stop_calls;
    running.cancel_all();
  };
  WorkLoop loop(*bus_, options, [&](bus::Message& message) {
    seen.add(message);
    JobRegistration registration(running, "build-held", 1);
    while (!registration.flag().cancelled()) std::this_thread::sleep_for(milliseconds(20));
    settle(message, Settle::kNak, "build-held");
  });
  ASSERT_TRUE(loop.start().ok());
  publish_dispatched("build-held");
  ASSERT_TRUE(eventually([&running] { return running.size() == 1; }));

  const auto begin = std::chrono::steady_clock::now();
  loop.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, seconds(10));
  EXPECT_EQ(running.size(), 0);
  loop.stop();  // on_stop runs once
  EXPECT_EQ(on_stop_calls, 1);

  auto back = pending(kLongAckWait, 3000);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back.front().subject(), "kiln.build.dispatched.build-held");
  EXPECT_EQ(back.front().deliveries(), 2u);
  EXPECT_EQ(seen.size(), 1u);
}

TEST_F(WorkerTest, StoppedLoopTakesNoNewWork) {
  Seen seen;
  WorkLoop loop(*bus_, loop_options(2), [&seen](bus::Message& message) {
    seen.add(message);
    settle(message, Settle::kAck, "");
  });
  ASSERT_TRUE(loop.start().ok());
  loop.stop();
  loop.stop();  // twice is harmless
  publish_dispatched("build-late");
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(seen.size(), 0u);
  EXPECT_EQ(pending(kAckWaitSeconds).size(), 1u);
}

TEST_F(WorkerTest, CancelWatcherCancelsTheRunningBuildWithinTwoSeconds) {
  RunningJobs running;
  CancelWatcher watcher(*bus_, running,
                        {.cancelling = "cancel requested", .read_failed = "reading failed"});
  ASSERT_TRUE(watcher.start().ok());
  auto target = running.add("build-target", 1);
  auto other = running.add("build-other", 1);

  auto envelope = events::new_envelope("build-target", "worker-test", 1);
  envelope.mutable_cancel_requested()->set_by("tester");
  publish(std::move(envelope));

  EXPECT_TRUE(eventually([&target] { return target->cancelled(); }, seconds(2)));
  EXPECT_FALSE(other->cancelled());
  watcher.stop();
  watcher.stop();
}

TEST_F(WorkerTest, CancelWatcherIgnoresRequestsStoredBeforeItStarted) {
  // Those are the worker's own check (registered first, checked second), not the watcher's.
  auto envelope = events::new_envelope("build-early", "worker-test", 1);
  envelope.mutable_cancel_requested()->set_by("tester");
  publish(std::move(envelope));

  RunningJobs running;
  auto flag = running.add("build-early", 1);
  CancelWatcher watcher(*bus_, running, {.cancelling = "c", .read_failed = "r"});
  ASSERT_TRUE(watcher.start().ok());
  std::this_thread::sleep_for(milliseconds(700));
  EXPECT_FALSE(flag->cancelled());
}

TEST_F(WorkerTest, StoredEventAndHasEventReadTheLog) {
  auto requested = events::new_envelope("build-s", "worker-test", 1);
  requested.mutable_requested()->set_project("demo");
  publish(std::move(requested));

  auto found = has_event(*bus_, "requested", "build-s");
  ASSERT_TRUE(found.ok()) << found.error().describe();
  EXPECT_TRUE(*found);
  auto missing = has_event(*bus_, "built", "build-s");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(*missing);

  auto stored = stored_event(*bus_, "requested", "build-s");
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->has_value());
  EXPECT_TRUE((*stored)->has_requested());
  EXPECT_EQ((*stored)->requested().project(), "demo");

  auto none = stored_event(*bus_, "built", "build-s");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(WorkerTest, StoredEventThatCannotBeDecodedIsStillAFact) {
  auto ack = bus_->publish(events::build_subject("built", "build-u"), "not a protobuf \xff\xff",
                           "worker-test-garbage");
  ASSERT_TRUE(ack.ok()) << ack.error().describe();
  auto stored = stored_event(*bus_, "built", "build-u");
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->has_value());
  EXPECT_FALSE((*stored)->has_built());
}

}  // namespace
}  // namespace kiln::worker

namespace kiln::worker {
namespace {

// A late copy of an earlier dispatch stored after a later one must not hide the later one.
TEST_F(WorkerTest, HighestDispatchedAttemptIsNotTheLastStored) {
  auto none = highest_dispatched_attempt(*bus_, "fence-b");
  ASSERT_TRUE(none.ok()) << none.error().describe();
  EXPECT_EQ(*none, 0);
  for (int attempt : {1, 3, 2}) {
    auto envelope = events::new_envelope("fence-b", "worker-test", attempt);
    envelope.mutable_dispatched()->set_attempt(attempt);
    publish(std::move(envelope));
  }
  publish_dispatched("other-build");
  auto highest = highest_dispatched_attempt(*bus_, "fence-b");
  ASSERT_TRUE(highest.ok()) << highest.error().describe();
  EXPECT_EQ(*highest, 3);
}

}  // namespace
}  // namespace kiln::worker
