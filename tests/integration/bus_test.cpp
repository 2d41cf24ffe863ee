// libs/bus against a real nats-server with JetStream (started per test on a free port).
#include "bus/bus.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "bus/consumer.h"
#include "bus/kv.h"
#include "bus/topology.h"
#include "events/envelope.h"
#include "events/subjects.h"
#include "support/servers.h"

namespace kiln::bus {
namespace {

class BusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto connected = Bus::connect(BusOptions{.url = nats_.url(), .name = "bus-test"});
    ASSERT_TRUE(connected.ok()) << connected.error().describe();
    bus_ = std::move(connected.value());
    TopologyOptions topology;
    topology.builder_ack_wait_seconds = 2;
    auto provisioned = provision(*bus_, topology);
    ASSERT_TRUE(provisioned.ok()) << provisioned.error().describe();
    ASSERT_TRUE(ensure_consumer(*bus_, builder_consumer(topology)).ok());
  }

  std::string publish_dispatched(const std::string& build_id, int attempt = 1) {
    auto envelope = events::new_envelope(build_id, "test", attempt);
    envelope.mutable_dispatched()->set_attempt(attempt);
    auto encoded = events::encode(envelope);
    auto ack = bus_->publish(encoded.subject, encoded.data, encoded.msg_id);
    EXPECT_TRUE(ack.ok()) << ack.error().describe();
    return encoded.msg_id;
  }

  std::unique_ptr<PullConsumer> builder() {
    TopologyOptions topology;
    topology.builder_ack_wait_seconds = 2;
    auto consumer = PullConsumer::bind(*bus_, builder_consumer(topology));
    EXPECT_TRUE(consumer.ok()) << consumer.error().describe();
    return std::move(consumer.value());
  }

  testing::NatsServer nats_;
  std::unique_ptr<Bus> bus_;
};

TEST_F(BusTest, PublishedEventIsConsumedAndDecoded) {
  publish_dispatched("build-1");
  auto consumer = builder();
  auto batch = consumer->fetch(10, 2000);
  ASSERT_TRUE(batch.ok()) << batch.error().describe();
  ASSERT_EQ(batch->size(), 1u);
  auto& msg = batch->front();
  EXPECT_EQ(msg.subject(), "kiln.build.dispatched.build-1");
  auto envelope = events::decode(msg.data());
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(envelope->type(), "dispatched");
  EXPECT_EQ(envelope->build_id(), "build-1");
  EXPECT_EQ(envelope->dispatched().attempt(), 1);
  EXPECT_EQ(msg.deliveries(), 1u);
  EXPECT_TRUE(msg.ack().ok());
  auto empty = consumer->fetch(10, 300);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(BusTest, SameMsgIdIsStoredOnce) {
  auto first = bus_->publish("kiln.build.requested.b1", "payload", "webhook:github:d-1");
  auto second = bus_->publish("kiln.build.requested.b1", "payload", "webhook:github:d-1");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(first->sequence, second->sequence);
  auto last = last_stream_sequence(*bus_, kEventsStream);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 1u);
}

TEST_F(BusTest, PublishWithoutMsgIdIsRefused) {
  auto ack = bus_->publish("kiln.build.requested.b1", "payload", "");
  ASSERT_FALSE(ack.ok());
  EXPECT_EQ(ack.error().code, ErrorCode::kInvalidArgument) << ack.error().describe();
  EXPECT_EQ(ack.error().peer_code, "") << "refused before anything is sent";
}

TEST_F(BusTest, AFullStreamThatRefusesNewMessagesSaysResourceExhausted) {
  StreamSpec spec{"KILN_TEST_FULL", {"kiln.test.full.>"}};
  spec.max_bytes = 4096;
  spec.refuse_when_full = true;
  ASSERT_TRUE(ensure_stream(*bus_, spec).ok());
  const std::string kilobyte(1024, 'x');
  Result<PublishAck> ack = bus_->publish("kiln.test.full.0", kilobyte, "full-0");
  for (int i = 1; i < 10 && ack.ok(); ++i) {
    ack =
        bus_->publish("kiln.test.full." + std::to_string(i), kilobyte, "full-" + std::to_string(i));
  }
  ASSERT_FALSE(ack.ok()) << "10 KiB went into a stream of 4 KiB";
  EXPECT_EQ(ack.error().code, ErrorCode::kResourceExhausted) << ack.error().describe();
}

TEST_F(BusTest, UnackedMessageIsRedeliveredAfterAckWait) {
  publish_dispatched("build-2");
  auto consumer = builder();
  auto first = consumer->fetch(1, 2000);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  // Not acked: after AckWait (2 s) the server hands it out again.
  auto again = consumer->fetch(1, 5000);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(again->front().deliveries(), 2u);
  EXPECT_EQ(again->front().stream_sequence(), first->front().stream_sequence());
  EXPECT_TRUE(again->front().ack().ok());
}

TEST_F(BusTest, InProgressAcksPreventRedelivery) {
  publish_dispatched("build-3");
  auto consumer = builder();
  auto first = consumer->fetch(1, 2000);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  auto second_worker = builder();
  // Work for 5 s (2.5x AckWait) while telling the server we are alive every second.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(first->front().in_progress().ok());
    auto stolen = second_worker->fetch(1, 1000);
    ASSERT_TRUE(stolen.ok());
    EXPECT_TRUE(stolen->empty()) << "redelivered while in progress";
  }
  EXPECT_TRUE(first->front().ack().ok());
}

TEST_F(BusTest, NakWithDelayRedeliversLater) {
  publish_dispatched("build-4");
  auto consumer = builder();
  auto first = consumer->fetch(1, 2000);
  ASSERT_TRUE(first.ok() && first->size() == 1u);
  ASSERT_TRUE(first->front().nak(500).ok());
  auto again = consumer->fetch(1, 3000);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(again->front().deliveries(), 2u);
  EXPECT_TRUE(again->front().term().ok());
}

TEST_F(BusTest, AckedMessagesSurviveServerRestartAndPublishingResumes) {
  std::set<std::string> published;
  for (int i = 0; i < 20; ++i) published.insert(publish_dispatched("before-" + std::to_string(i)));
  nats_.kill9();
  nats_.restart();
  // The connection reconnects by itself; publishing resumes once it is back.
  bool resumed = false;
  for (int i = 0; i < 100 && !resumed; ++i) {
    auto envelope = events::new_envelope("after-restart", "test", 1);
    envelope.mutable_dispatched()->set_attempt(1);
    auto encoded = events::encode(envelope);
    resumed = bus_->publish(encoded.subject, encoded.data, encoded.msg_id).ok();
    if (!resumed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(resumed) << "publishing did not resume after the server came back";
  auto last = last_stream_sequence(*bus_, kEventsStream);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 21u);
  auto reader = SubjectReader::open(*bus_, kEventsStream, "kiln.build.dispatched.*",
                                    SubjectReader::Start::kAll);
  ASSERT_TRUE(reader.ok()) << reader.error().describe();
  std::set<std::string> seen;
  for (int i = 0; i < 21; ++i) {
    auto msg = (*reader)->next(2000);
    ASSERT_TRUE(msg.ok() && msg->has_value());
    auto envelope = events::decode((*msg)->data());
    ASSERT_TRUE(envelope.ok());
    seen.insert(events::event_msg_id(envelope->build_id(), "dispatched", 1));
  }
  for (const auto& id : published) EXPECT_TRUE(seen.count(id)) << id;
}

TEST_F(BusTest, AsyncPublisherStoresEveryMessageOnce) {
  auto publisher = AsyncPublisher::create(*bus_);
  ASSERT_TRUE(publisher.ok());
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE((*publisher)->publish("kiln.log.b1", "line", "log-" + std::to_string(i)).ok());
  }
  ASSERT_TRUE((*publisher)->publish("kiln.log.b1", "line", "log-0").ok());
  auto stats = (*publisher)->wait();
  ASSERT_TRUE(stats.ok()) << stats.error().describe();
  EXPECT_EQ(stats->acked, 501u);
  EXPECT_EQ(stats->duplicates, 1u);
  EXPECT_EQ(stats->failed, 0u);
  auto last = last_stream_sequence(*bus_, kLogsStream);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 500u);
}

TEST_F(BusTest, ProvisionIsIdempotent) {
  EXPECT_TRUE(provision(*bus_).ok());
  EXPECT_TRUE(provision(*bus_).ok());
  EXPECT_TRUE(ensure_consumer(*bus_, analytics_consumer()).ok());
  EXPECT_TRUE(ensure_consumer(*bus_, analytics_consumer()).ok());
}

TEST_F(BusTest, KeyValueGetPutCasAndWatch) {
  auto kv = KeyValue::open(*bus_, kProjectsBucket, KeyValue::Options{});
  ASSERT_TRUE(kv.ok());
  auto missing = (*kv)->get("demo");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto watcher = (*kv)->watch_all();
  ASSERT_TRUE(watcher.ok());
  auto end_of_initial = (*watcher)->next(2000);
  ASSERT_TRUE(end_of_initial.ok() && end_of_initial->has_value());
  EXPECT_TRUE((*end_of_initial)->key.empty());

  auto rev1 = (*kv)->put("demo", "{\"v\":1}");
  ASSERT_TRUE(rev1.ok());
  auto created_again = (*kv)->create("demo", "{}");
  ASSERT_FALSE(created_again.ok());
  EXPECT_EQ(created_again.error().code, ErrorCode::kAlreadyExists)
      << created_again.error().describe();
  auto stale = (*kv)->update("demo", "{\"v\":3}", *rev1 + 100);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kFailedPrecondition) << stale.error().describe();
  auto rev2 = (*kv)->update("demo", "{\"v\":2}", *rev1);
  ASSERT_TRUE(rev2.ok()) << rev2.error().describe();

  auto got = (*kv)->get("demo");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, "{\"v\":2}");

  auto change = (*watcher)->next(2000);
  ASSERT_TRUE(change.ok() && change->has_value());
  EXPECT_EQ((*change)->key, "demo");
  EXPECT_EQ((*change)->value, "{\"v\":1}");

  ASSERT_TRUE((*kv)->remove("demo").ok());
  auto keys = (*kv)->keys();
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
}

TEST_F(BusTest, PublishFailsFastWhenServerIsDown) {
  const auto started = std::chrono::steady_clock::now();
  nats_.stop();
  // The client notices the closed socket at once; until it has, a publish could only time out
  // (kDeadlineExceeded), which is not what this test is about.
  while (bus_->connected() &&
         std::chrono::steady_clock::now() - started < std::chrono::seconds(2)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto ack = bus_->publish_within("kiln.build.requested.x", "data", "id-x", 1000);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(ack.ok());
  EXPECT_EQ(ack.error().code, ErrorCode::kUnavailable) << ack.error().describe();
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

}  // namespace
}  // namespace kiln::bus

namespace kiln::bus {
namespace {

TEST_F(BusTest, LastMessageOnSubject) {
  auto none = last_message(*bus_, kEventsStream, "kiln.build.cancel_requested.b9");
  ASSERT_TRUE(none.ok()) << none.error().describe();
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(bus_->publish("kiln.build.cancel_requested.b9", "first", "c1").ok());
  auto second = bus_->publish("kiln.build.cancel_requested.b9", "second", "c2");
  ASSERT_TRUE(second.ok());
  auto last = last_message(*bus_, kEventsStream, "kiln.build.cancel_requested.b9");
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->data(), "second");
  // Its stream sequence is known (readers of a subject stop there: highest_dispatched_attempt).
  EXPECT_EQ((*last)->stream_sequence(), second->sequence);
}

TEST_F(BusTest, ExpectedLastSubjectSequenceFencesASecondWriter) {
  auto first = bus_->publish("kiln.build.built.b7", "attempt 1", "b7:built:1", 0);
  ASSERT_TRUE(first.ok()) << first.error().describe();
  auto late = bus_->publish("kiln.build.built.b7", "attempt 2", "b7:built:2", 0);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::kFailedPrecondition) << late.error().describe();
  EXPECT_EQ(late.error().peer_code, "JS 10071") << "JSStreamWrongLastSequenceErr";
  auto retried = bus_->publish("kiln.build.built.b7", "attempt 1", "b7:built:1", 0);
  ASSERT_TRUE(retried.ok()) << "a retried publish of the same fact is a duplicate, not a conflict";
  EXPECT_TRUE(retried->duplicate);
}

}  // namespace
}  // namespace kiln::bus

namespace kiln::bus {
namespace {

// Readers of a long subject (a 100,000-line build log is ~1,000 batches; the scheduler replays the
// whole event log) must see every message once, in order, even with several reading at once.
TEST_F(BusTest, ConcurrentSubjectReadersSeeEveryMessageInOrder) {
  constexpr int kMessages = 20000;
  auto publisher = AsyncPublisher::create(*bus_);
  ASSERT_TRUE(publisher.ok());
  const std::string payload(600, 'x');
  for (int i = 1; i <= kMessages; ++i) {
    ASSERT_TRUE(
        (*publisher)
            ->publish("kiln.log.big", std::to_string(i) + ":" + payload, "big-" + std::to_string(i))
            .ok());
  }
  auto stats = (*publisher)->wait(60000);
  ASSERT_TRUE(stats.ok() && stats->failed == 0);

  std::vector<std::thread> readers;
  std::atomic<int> complete{0};
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      auto reader =
          SubjectReader::open(*bus_, kLogsStream, "kiln.log.big", SubjectReader::Start::kAll);
      if (!reader.ok()) return;
      for (int expected = 1; expected <= kMessages; ++expected) {
        auto msg = (*reader)->next(5000);
        if (!msg.ok() || !msg->has_value()) return;
        const std::string_view data = (*msg)->data();
        if (data.substr(0, data.find(':')) != std::to_string(expected)) return;
      }
      ++complete;
    });
  }
  for (auto& t : readers) t.join();
  EXPECT_EQ(complete.load(), 4);
}

}  // namespace
}  // namespace kiln::bus

namespace kiln::bus {
namespace {

// More messages and bytes than nats.c's default client buffer (65,536 messages, 64 MiB), read
// after the server had time to run ahead: a restarted scheduler or an analytics rebuild replays
// the whole event log exactly like this, and must lose nothing.
TEST_F(BusTest, ReplayOfMoreThan65536MessagesLosesNone) {
  constexpr int kMessages = 70000;
  const std::string padding(1024, 'p');  // 70 MB in all: past the 64 MiB default as well
  auto publisher = AsyncPublisher::create(*bus_);
  ASSERT_TRUE(publisher.ok());
  for (int i = 1; i <= kMessages; ++i) {
    ASSERT_TRUE((*publisher)
                    ->publish("kiln.build.replay.x", std::to_string(i) + ":" + padding,
                              "r-" + std::to_string(i))
                    .ok());
  }
  auto stats = (*publisher)->wait(120000);
  ASSERT_TRUE(stats.ok() && stats->failed == 0);
  auto reader =
      SubjectReader::open(*bus_, kEventsStream, "kiln.build.replay.*", SubjectReader::Start::kAll);
  ASSERT_TRUE(reader.ok()) << reader.error().describe();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // let the server run ahead of us
  for (int expected = 1; expected <= kMessages; ++expected) {
    auto msg = (*reader)->next(5000);
    ASSERT_TRUE(msg.ok()) << "at " << expected << ": " << msg.error().describe();
    ASSERT_TRUE(msg->has_value()) << "stalled at " << expected;
    const std::string_view data = (*msg)->data();
    ASSERT_EQ(data.substr(0, data.find(':')), std::to_string(expected));
  }
}

}  // namespace
}  // namespace kiln::bus

namespace kiln::bus {
namespace {

// Drain before destroy (handles.h): readers, pull consumers and KV watchers created and destroyed
// in a loop while messages keep arriving for them. Before the drain, freeing a subscription the
// server was still pushing to was a use-after-free in nats.c 3.4 (ASan reports it in this build),
// or a message of a dead reader delivered to a new one. Each reader also checks that it sees its
// subject in order from where it started, which a foreign message would break.
TEST_F(BusTest, SubscriptionsClosedUnderPublishingLoadStayCorrect) {
  std::atomic<bool> stop{false};
  std::atomic<int> published{0};
  std::thread load([&] {
    auto publisher = AsyncPublisher::create(*bus_);
    if (!publisher.ok()) return;
    auto kv = KeyValue::open(*bus_, "drain_test", {.history = 1});
    for (int i = 1; !stop.load(); ++i) {
      const std::string n = std::to_string(i);
      (void)(*publisher)->publish("kiln.log.drain", n, "drain-" + n);
      if (i % 50 == 0) {
        (void)(*publisher)->wait(10000);
        publish_dispatched("drain-" + n);
        if (kv.ok()) (void)(*kv)->put("k" + std::to_string(i % 7), n);
      }
      published = i;
    }
    (void)(*publisher)->wait(10000);
  });
  while (published.load() < 200) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  auto kv = KeyValue::open(*bus_, "drain_test", {.history = 1});
  ASSERT_TRUE(kv.ok()) << kv.error().describe();
  int in_order_reads = 0;
  for (int round = 0; round < 60; ++round) {
    auto reader =
        SubjectReader::open(*bus_, kLogsStream, "kiln.log.drain", SubjectReader::Start::kAll);
    ASSERT_TRUE(reader.ok()) << reader.error().describe();
    for (int expected = 1; expected <= 20; ++expected) {
      auto msg = (*reader)->next(5000);
      ASSERT_TRUE(msg.ok() && msg->has_value()) << "round " << round;
      ASSERT_EQ((*msg)->data(), std::to_string(expected)) << "round " << round;
      ++in_order_reads;
    }
    reader->reset();  // destroyed while the server still pushes the rest

    auto consumer = builder();
    ASSERT_NE(consumer, nullptr);
    auto batch = consumer->fetch(5, 200);
    ASSERT_TRUE(batch.ok()) << batch.error().describe();
    for (auto& m : *batch) EXPECT_TRUE(m.nak().ok());
    consumer.reset();

    auto watcher = (*kv)->watch_all();
    ASSERT_TRUE(watcher.ok()) << watcher.error().describe();
    auto first = (*watcher)->next(2000);
    ASSERT_TRUE(first.ok()) << first.error().describe();
    watcher->reset();
  }
  stop = true;
  load.join();
  EXPECT_EQ(in_order_reads, 60 * 20);
  EXPECT_GT(published.load(), 200);
}

}  // namespace
}  // namespace kiln::bus
