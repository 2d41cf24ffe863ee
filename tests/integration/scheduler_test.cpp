// The scheduler against a real nats-server: dispatch under limits, replicas and leadership,
// restarts (in process and kill -9 of the real binary), supersede, queue timeout, cancel, cron
// ticks with an injected clock, catch-up, live schedule edits, duplicate deliveries.
#include "scheduler/scheduler.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "bus/bus.h"
#include "bus/consumer.h"
#include "bus/kv.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "events/envelope.h"
#include "project/project.h"
#include "support/servers.h"

namespace kiln::scheduler {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kMinuteMs = 60'000;

// The real kiln-scheduler binary as a child process, so a test can kill -9 it.
class SchedulerProcess {
 public:
  SchedulerProcess(const std::string& nats_url, const std::string& instance, int global_limit,
                   std::vector<std::string> extra_args = {},
                   std::vector<std::string> extra_env = {}) {
    const std::string binary = std::string(KILN_BINARY_DIR) + "/services/scheduler/kiln-scheduler";
    const std::string log = "/tmp/kiln-scheduler-test-" + instance + ".log";
    // Everything the child needs is made here: between fork and exec only async-signal-safe calls.
    std::vector<std::string> args = {binary,
                                     "--nats.url=" + nats_url,
                                     "--http.port=0",
                                     "--dispatch.global-limit=" + std::to_string(global_limit),
                                     "--instance=" + instance,
                                     "--scheduler.lease-seconds=3"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      FILE* out = freopen(log.c_str(), "w", stderr);
      (void)out;
      execve(binary.c_str(), argv.data(), envp.data());
      _exit(127);
    }
  }
  // True once the process has ended (by itself or by a failpoint's kill).
  bool exited() {
    if (pid_ <= 0) return true;
    if (waitpid(pid_, nullptr, WNOHANG) != pid_) return false;
    pid_ = -1;
    return true;
  }
  ~SchedulerProcess() { kill9(); }
  void kill9() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_ = connect("scheduler-test");
    ASSERT_TRUE(bus::provision(*bus_).ok());
    auto projects = bus::KeyValue::open(*bus_, bus::kProjectsBucket, {});
    ASSERT_TRUE(projects.ok()) << projects.error().describe();
    projects_ = std::move(projects.value());
  }

  std::unique_ptr<bus::Bus> connect(const std::string& name) {
    auto connected = bus::Bus::connect(bus::BusOptions{.url = nats_.url(), .name = name});
    EXPECT_TRUE(connected.ok()) << connected.error().describe();
    return std::move(connected.value());
  }

  // A scheduler instance with its own connection, as a separate replica would have.
  struct Instance {
    std::unique_ptr<bus::Bus> bus;
    std::unique_ptr<Scheduler> scheduler;
    SchedulerRunner* runner = nullptr;
  };
  Instance start(const std::string& name, int global_limit = 4,
                 std::function<std::int64_t()> clock = {},
                 std::uint64_t snapshot_every_events = RunnerOptions{}.snapshot_every_events) {
    Instance instance;
    instance.bus = connect(name);
    SchedulerOptions options;
    options.common.http.port = 0;
    options.common.instance = name;
    options.runner.limits.global_limit = global_limit;
    options.runner.lease_stale_after = 3s;
    options.runner.now_ms = std::move(clock);
    options.runner.snapshot_every_events = snapshot_every_events;
    instance.scheduler = std::make_unique<Scheduler>(options, *instance.bus);
    EXPECT_NO_THROW(instance.scheduler->start());
    instance.runner = &instance.scheduler->runner();
    return instance;
  }

  void publish(v1::Envelope envelope, const std::string& msg_id = "") {
    auto encoded = events::encode(envelope);
    auto ack =
        bus_->publish(encoded.subject, encoded.data, msg_id.empty() ? encoded.msg_id : msg_id);
    ASSERT_TRUE(ack.ok()) << ack.error().describe();
  }

  v1::Envelope requested(const std::string& id, const std::string& project = "p",
                         const std::string& ref = "refs/heads/main", bool supersede = false,
                         int max_queue_seconds = 0) {
    auto e = events::new_envelope(id, "test");
    auto* r = e.mutable_requested();
    r->set_project(project);
    r->mutable_trigger()->set_kind(v1::Trigger::MANUAL);
    r->mutable_git()->set_ref(ref);
    r->mutable_spec()->set_supersede(supersede);
    r->set_max_queue_seconds(max_queue_seconds);
    return e;
  }

  v1::Envelope finished(const std::string& id) {
    auto e = events::new_envelope(id, "test", 1);
    e.mutable_succeeded();
    return e;
  }

  // Every event in KILN_EVENTS, in log order.
  std::vector<v1::Envelope> log() {
    std::vector<v1::Envelope> out;
    auto last = bus::last_stream_sequence(*bus_, bus::kEventsStream);
    EXPECT_TRUE(last.ok());
    if (!last.ok() || *last == 0) return out;
    auto reader = bus::SubjectReader::open(*bus_, bus::kEventsStream, "kiln.build.>",
                                           bus::SubjectReader::Start::kSequence, 1);
    EXPECT_TRUE(reader.ok());
    for (std::uint64_t seq = 0; seq < *last;) {
      auto next = (*reader)->next(2000);
      if (!next.ok() || !next->has_value()) break;
      seq = (*next)->stream_sequence();
      auto envelope = events::decode((*next)->data());
      EXPECT_TRUE(envelope.ok());
      out.push_back(*envelope);
    }
    return out;
  }

  static int count(const std::vector<v1::Envelope>& events, const std::string& type,
                   const std::string& build = "") {
    int n = 0;
    for (const auto& e : events) {
      if (e.type() == type && (build.empty() || e.build_id() == build)) ++n;
    }
    return n;
  }

  // Replays the log and returns the most builds ever running at once.
  static int peak_running(const std::vector<v1::Envelope>& events) {
    std::set<std::string> running;
    std::size_t peak = 0;
    for (const auto& e : events) {
      if (e.type() == "dispatched") running.insert(e.build_id());
      if (e.type() == "succeeded" || e.type() == "failed" || e.type() == "cancelled") {
        running.erase(e.build_id());
      }
      peak = std::max(peak, running.size());
    }
    return static_cast<int>(peak);
  }

  bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return condition();
  }

  // Acts as the builders: finishes every dispatched build, until `total` have succeeded.
  void complete_all(int total, std::chrono::milliseconds timeout = 30s) {
    std::set<std::string> done;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (static_cast<int>(done.size()) < total && std::chrono::steady_clock::now() < deadline) {
      for (const auto& e : log()) {
        if (e.type() == "dispatched" && done.insert(e.build_id()).second) {
          publish(finished(e.build_id()));
        }
      }
      std::this_thread::sleep_for(100ms);
    }
    ASSERT_EQ(static_cast<int>(done.size()), total);
  }

  void put_project(const std::string& cron) {
    project::Project p;
    p.name = "cronproj";
    p.repository_url = "file:///srv/cronproj.git";
    p.schedules.push_back({.name = "tick", .cron = cron, .timezone = "UTC", .branch = ""});
    ASSERT_TRUE(projects_->put(p.name, project::to_json(p)).ok());
  }

  static std::vector<v1::Envelope> scheduled(const std::vector<v1::Envelope>& events) {
    std::vector<v1::Envelope> out;
    for (const auto& e : events) {
      if (e.type() == "requested" && e.requested().trigger().kind() == v1::Trigger::SCHEDULE) {
        out.push_back(e);
      }
    }
    return out;
  }

  kiln::testing::NatsServer nats_;
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<bus::KeyValue> projects_;
};

// A fake wall clock the test moves; starts 10 s past a minute boundary.
struct FakeClock {
  std::atomic<std::int64_t> now{(kiln::now_ms() / kMinuteMs) * kMinuteMs + 10'000};
  std::function<std::int64_t()> fn() {
    return [this] { return now.load(); };
  }
};

TEST_F(SchedulerTest, RequestsAreQueuedAndDispatchedWithinTheGlobalLimit) {
  auto scheduler = start("s1", 2);
  for (int i = 0; i < 5; ++i) publish(requested("b" + std::to_string(i)));
  ASSERT_TRUE(eventually([&] {
    auto events = log();
    return count(events, "queued") == 5 && count(events, "dispatched") == 2;
  }));
  std::this_thread::sleep_for(500ms);
  auto events = log();
  EXPECT_EQ(count(events, "dispatched"), 2);
  int held = 0;
  for (const auto& e : events) {
    if (e.type() == "queued" && e.queued().held_by() == "global") ++held;
  }
  EXPECT_EQ(held, 3);
  complete_all(5);
  events = log();
  EXPECT_EQ(count(events, "dispatched"), 5);
  EXPECT_LE(peak_running(events), 2);
}

TEST_F(SchedulerTest, DuplicateDeliveryOfEveryEventTypeIsHarmless) {
  auto scheduler = start("s1", 1);
  // Stored twice under different Msg-Ids: the log really holds the duplicates.
  auto req = requested("dup");
  publish(req, "copy-1");
  publish(req, "copy-2");
  auto other = requested("other", "q");
  publish(other, "o-1");
  publish(other, "o-2");
  ASSERT_TRUE(eventually([&] { return count(log(), "dispatched", "dup") == 1; }));
  for (const auto& msg : {"s-1", "s-2"}) {
    auto started = events::new_envelope("dup", "test", 1);
    started.mutable_started()->set_attempt(1);
    publish(started, msg);
  }
  for (const auto& msg : {"c-1", "c-2"}) {
    auto cancel = events::new_envelope("other", "test");
    cancel.mutable_cancel_requested()->set_reason("duplicate cancel");
    publish(cancel, msg);
  }
  ASSERT_TRUE(eventually([&] { return count(log(), "cancelled", "other") == 1; }));
  for (const auto& msg : {"f-1", "f-2"}) publish(finished("dup"), msg);
  auto after = requested("after", "r");
  publish(after, "a-1");
  publish(after, "a-2");
  ASSERT_TRUE(eventually([&] { return count(log(), "dispatched", "after") == 1; }));
  std::this_thread::sleep_for(500ms);
  auto events = log();
  EXPECT_EQ(count(events, "queued", "dup"), 1);
  EXPECT_EQ(count(events, "dispatched", "dup"), 1);
  EXPECT_EQ(count(events, "dispatched", "other"), 0);
  EXPECT_EQ(count(events, "cancelled", "other"), 1);
  EXPECT_EQ(count(events, "dispatched", "after"), 1);
  EXPECT_LE(peak_running(events), 1);
}

TEST_F(SchedulerTest, TwoReplicasDispatchEachBuildOnceAndFireEachTickOnce) {
  FakeClock clock;
  auto a = start("a", 3, clock.fn());
  auto b = start("b", 3, clock.fn());
  put_project("* * * * *");
  ASSERT_TRUE(eventually([&] { return a.runner->leader() || b.runner->leader(); }));
  EXPECT_FALSE(a.runner->leader() && b.runner->leader());
  for (int i = 0; i < 10; ++i) publish(requested("r" + std::to_string(i), "p" + std::to_string(i)));
  std::this_thread::sleep_for(1s);  // both have loaded the project
  clock.now += kMinuteMs;
  ASSERT_TRUE(eventually([&] { return scheduled(log()).size() == 1; }));
  complete_all(11);
  std::this_thread::sleep_for(500ms);
  auto events = log();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(count(events, "dispatched", "r" + std::to_string(i)), 1);
  EXPECT_LE(peak_running(events), 3);
  auto fires = scheduled(events);
  ASSERT_EQ(fires.size(), 1u);
  const auto& trigger = fires[0].requested().trigger();
  EXPECT_EQ(trigger.schedule_id(), "cronproj/tick");
  EXPECT_EQ(trigger.fire_time_ms() % kMinuteMs, 0);
  EXPECT_FALSE(trigger.catch_up());
  EXPECT_EQ(fires[0].build_id(),
            stable_id("schedule:cronproj/tick:" + std::to_string(trigger.fire_time_ms())));
  EXPECT_EQ(fires[0].requested().git().ref(), "refs/heads/main");
}

TEST_F(SchedulerTest, StandbyTakesOverWhenTheLeaderStops) {
  auto a = start("a", 4);
  ASSERT_TRUE(eventually([&] { return a.runner->leader(); }));
  auto b = start("b", 4);
  ASSERT_TRUE(eventually([&] { return b.runner->ready(); }));
  EXPECT_FALSE(b.runner->leader());
  a.runner->stop();
  publish(requested("after-stop"));
  const auto stopped = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return count(log(), "dispatched", "after-stop") == 1; }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, 10s);
  EXPECT_TRUE(b.runner->leader());
}

TEST_F(SchedulerTest, StandbyTakesOverWithin10sWhenTheLeaderIsKilled) {
  SchedulerProcess leader(nats_.url(), "killed-leader", 4);
  publish(requested("probe"));
  ASSERT_TRUE(eventually([&] { return count(log(), "dispatched", "probe") == 1; }));
  auto standby = start("standby", 4);
  ASSERT_TRUE(eventually([&] { return standby.runner->ready(); }));
  EXPECT_FALSE(standby.runner->leader());
  leader.kill9();
  const auto killed = std::chrono::steady_clock::now();
  publish(requested("after-kill", "other"));
  ASSERT_TRUE(eventually([&] { return count(log(), "dispatched", "after-kill") == 1; }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - killed, 10s);
  EXPECT_EQ(count(log(), "dispatched", "probe"), 1);
}

TEST_F(SchedulerTest, RestartRebuildsStateWithoutDoubleOrLostDispatch) {
  {
    auto first = start("first", 2);
    for (int i = 0; i < 4; ++i) publish(requested("b" + std::to_string(i)));
    ASSERT_TRUE(eventually([&] { return count(log(), "dispatched") == 2; }));
  }
  publish(requested("while-down"));
  publish(finished("b0"));
  auto second = start("second", 2);
  ASSERT_TRUE(eventually([&] { return count(log(), "dispatched") == 3; }));
  std::this_thread::sleep_for(500ms);
  auto events = log();
  EXPECT_EQ(count(events, "dispatched"), 3);
  EXPECT_LE(peak_running(events), 2);
  complete_all(5);
  events = log();
  for (const auto& id : {"b0", "b1", "b2", "b3", "while-down"}) {
    EXPECT_EQ(count(events, "dispatched", id), 1) << id;
    EXPECT_EQ(count(events, "queued", id), 1) << id;
  }
}

TEST_F(SchedulerTest, KilledSchedulerRestartsWithoutDoubleOrLostDispatch) {
  auto process = std::make_unique<SchedulerProcess>(nats_.url(), "victim", 3);
  for (int i = 0; i < 30; ++i)
    publish(requested("k" + std::to_string(i), "p" + std::to_string(i % 4)));
  ASSERT_TRUE(eventually([&] { return count(log(), "dispatched") == 3; }));
  for (int i = 0; i < 3; ++i) {
    for (const auto& e : log()) {
      if (e.type() == "dispatched") publish(finished(e.build_id()), "done-" + e.build_id());
    }
    std::this_thread::sleep_for(200ms);
  }
  process->kill9();
  process.reset();
  for (int i = 30; i < 40; ++i) publish(requested("k" + std::to_string(i)));
  process = std::make_unique<SchedulerProcess>(nats_.url(), "victim", 3);
  // The lease of the killed process goes stale before the new one may decide.
  complete_all(40, 60s);
  auto events = log();
  for (int i = 0; i < 40; ++i) EXPECT_EQ(count(events, "dispatched", "k" + std::to_string(i)), 1);
  EXPECT_LE(peak_running(events), 3);
}

// The sequence the scheduler's newest snapshot covers (0: none written).
std::uint64_t snapshot_sequence(bus::Bus& bus) {
  auto kv = bus::KeyValue::open(bus, kSchedulerBucket, {});
  if (!kv.ok()) return 0;
  auto head = (*kv)->get("dispatch");
  if (!head.ok() || !head->has_value()) return 0;
  return std::stoull((*head)->value);
}

TEST_F(SchedulerTest, RestartReadsOnlyTheLogAfterItsSnapshot) {
  {
    auto first = start("s1", 2, {}, 10);
    for (int i = 0; i < 12; ++i)
      publish(requested("r" + std::to_string(i), "p" + std::to_string(i % 3)));
    ASSERT_TRUE(eventually([&] { return count(log(), "dispatched") == 2; }));
    for (const auto& e : log()) {
      if (e.type() == "dispatched") publish(finished(e.build_id()));
    }
    ASSERT_TRUE(eventually([&] { return count(log(), "dispatched") == 4; }));
    ASSERT_TRUE(eventually([&] { return snapshot_sequence(*bus_) > 0; })) << "no snapshot written";
  }
  const std::uint64_t covered = snapshot_sequence(*bus_);
  for (int i = 12; i < 16; ++i) publish(requested("r" + std::to_string(i)));
  auto last = bus::last_stream_sequence(*bus_, bus::kEventsStream);
  ASSERT_TRUE(last.ok());
  ASSERT_GT(*last, covered);

  auto second = start("s2", 2, {}, 10);
  ASSERT_TRUE(eventually([&] { return second.runner->ready(); }));
  const double read = second.scheduler->metrics().value("kiln_scheduler_recovery_events");
  EXPECT_EQ(read, static_cast<double>(*last - covered))
      << "a start reads the log after the snapshot (sequence " << covered << ") only";
  complete_all(16, 60s);
  auto events = log();
  for (int i = 0; i < 16; ++i) EXPECT_EQ(count(events, "dispatched", "r" + std::to_string(i)), 1);
  EXPECT_LE(peak_running(events), 2);
}

TEST_F(SchedulerTest, KilledWhileWritingASnapshotRecoversFromThePreviousOne) {
  // The second snapshot dies after its first chunk: its head was never written.
  auto process = std::make_unique<SchedulerProcess>(
      nats_.url(), "snapper", 3, std::vector<std::string>{"--scheduler.snapshot-every-events=8"},
      std::vector<std::string>{"KILN_FAILPOINTS=scheduler.snapshot_chunk_written=2*kill"});
  for (int i = 0; i < 10; ++i)
    publish(requested("w" + std::to_string(i), "p" + std::to_string(i % 4)));
  ASSERT_TRUE(eventually([&] { return count(log(), "dispatched") == 3; }, 20s));
  ASSERT_TRUE(eventually([&] { return snapshot_sequence(*bus_) > 0; }, 20s));
  const std::uint64_t first = snapshot_sequence(*bus_);
  for (const auto& e : log()) {
    if (e.type() == "dispatched") publish(finished(e.build_id()));
  }
  ASSERT_TRUE(eventually([&] { return process->exited(); }, 30s))
      << "the failpoint never fired on the second snapshot";
  EXPECT_EQ(snapshot_sequence(*bus_), first) << "the head still names the whole snapshot";

  auto after = start("after", 3, {}, 8);
  complete_all(10, 60s);
  auto events = log();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(count(events, "dispatched", "w" + std::to_string(i)), 1);
  EXPECT_LE(peak_running(events), 3);
  EXPECT_GT(after.scheduler->metrics().value("kiln_scheduler_recovery_events"), 0);
}

TEST_F(SchedulerTest, NewerRequestSupersedesTheQueuedOne) {
  auto scheduler = start("s1", 1);
  publish(requested("busy", "p", "refs/heads/other"));
  ASSERT_TRUE(eventually([&] { return count(log(), "dispatched", "busy") == 1; }));
  publish(requested("old", "p", "refs/heads/feature", true));
  ASSERT_TRUE(eventually([&] { return count(log(), "queued", "old") == 1; }));
  publish(requested("new", "p", "refs/heads/feature", true));
  ASSERT_TRUE(eventually([&] { return count(log(), "cancelled", "old") == 1; }));
  auto events = log();
  for (const auto& e : events) {
    if (e.build_id() == "old" && e.type() == "cancel_requested") {
      EXPECT_EQ(e.cancel_requested().reason(), "superseded by new");
    }
    if (e.build_id() == "old" && e.type() == "cancelled") {
      EXPECT_EQ(e.cancelled().stage(), v1::QUEUE);
    }
  }
  EXPECT_EQ(count(events, "cancel_requested", "old"), 1);
  publish(finished("busy"));
  ASSERT_TRUE(eventually([&] { return count(log(), "dispatched", "new") == 1; }));
  EXPECT_EQ(count(log(), "dispatched", "old"), 0);
}

TEST_F(SchedulerTest, QueuedTooLongFails) {
  auto scheduler = start("s1", 1);
  publish(requested("busy", "a"));
  publish(requested("waits", "b", "refs/heads/main", false, 1));
  ASSERT_TRUE(eventually([&] { return count(log(), "failed", "waits") == 1; }, 5s));
  for (const auto& e : log()) {
    if (e.type() == "failed") {
      EXPECT_EQ(e.failed().stage(), v1::QUEUE);
      EXPECT_EQ(e.failed().reason(), "timeout: queued longer than 1 s");
    }
  }
  EXPECT_EQ(count(log(), "dispatched", "waits"), 0);
}

TEST_F(SchedulerTest, CancelOfAQueuedBuildCancelsItInTheQueue) {
  auto scheduler = start("s1", 1);
  publish(requested("busy", "a"));
  publish(requested("waits", "b"));
  ASSERT_TRUE(eventually([&] { return count(log(), "queued", "waits") == 1; }));
  auto cancel = events::new_envelope("waits", "test");
  cancel.mutable_cancel_requested()->set_reason("not needed");
  publish(cancel);
  ASSERT_TRUE(eventually([&] { return count(log(), "cancelled", "waits") == 1; }));
  for (const auto& e : log()) {
    if (e.type() == "cancelled") {
      EXPECT_EQ(e.cancelled().stage(), v1::QUEUE);
    }
  }
  publish(finished("busy"));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(count(log(), "dispatched", "waits"), 0);
}

TEST_F(SchedulerTest, RestartAcrossTicksFiresOneCatchUp) {
  FakeClock clock;
  put_project("* * * * *");
  {
    auto first = start("first", 4, clock.fn());
    std::this_thread::sleep_for(1s);
    clock.now += kMinuteMs;
    ASSERT_TRUE(eventually([&] { return scheduled(log()).size() == 1; }));
  }
  clock.now += 5 * kMinuteMs;  // five ticks missed while no scheduler ran
  auto second = start("second", 4, clock.fn());
  ASSERT_TRUE(eventually([&] { return scheduled(log()).size() == 2; }));
  std::this_thread::sleep_for(1s);
  auto fires = scheduled(log());
  ASSERT_EQ(fires.size(), 2u);
  EXPECT_FALSE(fires[0].requested().trigger().catch_up());
  EXPECT_TRUE(fires[1].requested().trigger().catch_up());
  EXPECT_EQ(fires[1].requested().trigger().fire_time_ms(),
            fires[0].requested().trigger().fire_time_ms() + 5 * kMinuteMs);
}

TEST_F(SchedulerTest, ScheduleEditsArePickedUpLive) {
  FakeClock clock;
  put_project("0 3 1 1 *");  // once a year: nothing in this test's minutes
  auto scheduler = start("s1", 4, clock.fn());
  std::this_thread::sleep_for(1s);
  clock.now += kMinuteMs;
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(scheduled(log()).size(), 0u);
  put_project("* * * * *");
  std::this_thread::sleep_for(500ms);
  clock.now += kMinuteMs;
  ASSERT_TRUE(eventually([&] { return scheduled(log()).size() == 1; }));
  ASSERT_TRUE(projects_->remove("cronproj").ok());
  std::this_thread::sleep_for(500ms);
  clock.now += 3 * kMinuteMs;
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(scheduled(log()).size(), 1u);
}

}  // namespace
}  // namespace kiln::scheduler
