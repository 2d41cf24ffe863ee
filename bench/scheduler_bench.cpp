// Scheduler benchmark against a real nats-server:
//   1. requested → dispatched latency (p50/p99) for a burst of 5,000 requests with no limit
//      binding, and its ratio to the raw JetStream publish → ordered-consumer round trip measured
//      in the same run on the same server;
//   2. 10,000 schedules (1,000 projects × 10) firing in the same minute: time until all are
//      published.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "bus/consumer.h"
#include "bus/kv.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "cron/cron.h"
#include "cron/time_zone.h"
#include "events/envelope.h"
#include "project/project.h"
#include "scheduler/scheduler.h"
#include "support/servers.h"

namespace {

using Clock = std::chrono::steady_clock;

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

std::unique_ptr<kiln::bus::Bus> connect(const std::string& url, const std::string& name) {
  auto bus = kiln::bus::Bus::connect({.url = url, .name = name});
  if (!bus.ok()) throw std::runtime_error(bus.error().describe());
  return std::move(bus.value());
}

// Publishes `n` messages asynchronously on `subject_prefix.<i>` and times each one's arrival at an
// ordered reader: the floor any JetStream-based dispatcher stands on.
std::vector<double> raw_round_trip(kiln::bus::Bus& bus, int n) {
  auto reader = kiln::bus::SubjectReader::open(bus, kiln::bus::kEventsStream, "kiln.build.raw.>",
                                               kiln::bus::SubjectReader::Start::kNew);
  auto publisher = kiln::bus::AsyncPublisher::create(bus);
  std::vector<Clock::time_point> sent(n);
  std::vector<double> latency;
  std::thread consumer([&] {
    while (static_cast<int>(latency.size()) < n) {
      auto msg = (*reader)->next(5000);
      if (!msg.ok() || !msg->has_value()) break;
      const int i = std::stoi(std::string((*msg)->data()));
      latency.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent[i]).count());
    }
  });
  for (int i = 0; i < n; ++i) {
    sent[i] = Clock::now();
    (void)(*publisher)
        ->publish("kiln.build.raw.r" + std::to_string(i), std::to_string(i),
                  "raw-" + std::to_string(i));
  }
  (void)(*publisher)->wait();
  consumer.join();
  return latency;
}

// Diagnostic (a part alone): cost of one cron search, over starts a day apart across five and a
// half years, in the zone with the most DST work of the suite.
void cron_next_after() {
  const auto zone = kiln::cron::TimeZone::load("Europe/Berlin");
  if (!zone.ok()) return;
  constexpr int kCalls = 20000;
  for (const char* expression : {"*/15 * * * *", "0 9 * * MON-FRI", "0 0 29 2 *"}) {
    auto schedule = kiln::cron::Schedule::parse(expression);
    if (!schedule.ok()) continue;
    const std::int64_t base = 1767225600;  // 2026-01-01T00:00:00Z
    std::int64_t sum = 0;
    const auto start = Clock::now();
    for (int i = 0; i < kCalls; ++i) sum += schedule->next_after(base + i * 86413, *zone) - base;
    const double per_call_us =
        std::chrono::duration<double, std::micro>(Clock::now() - start).count() / kCalls;
    std::printf("cron next_after \"%s\": %.2f us per call (checksum %lld)\n", expression,
                per_call_us, static_cast<long long>(sum % 1000));
  }
}

}  // namespace

int main() {
  cron_next_after();
  kiln::testing::NatsServer nats;
  auto bus = connect(nats.url(), "bench");
  if (!kiln::bus::provision(*bus).ok()) return 1;
  constexpr int kBurst = 5000;

  const auto raw = raw_round_trip(*bus, kBurst);

  // Dispatch latency: the runner with no limit; latency from requested publish to dispatched seen.
  std::atomic<std::int64_t> fake_now{(kiln::now_ms() / 60000) * 60000 + 5000};
  std::atomic<bool> use_fake{false};
  auto runner_bus = connect(nats.url(), "bench-scheduler");
  kiln::scheduler::SchedulerOptions options;
  options.common.instance = "bench";
  options.common.http.port = 0;
  options.runner.limits.global_limit = 0;
  options.runner.now_ms = [&] { return use_fake ? fake_now.load() : kiln::now_ms(); };
  kiln::scheduler::Scheduler scheduler(options, *runner_bus);
  scheduler.start();
  auto& runner = scheduler.runner();
  while (!runner.leader()) std::this_thread::sleep_for(std::chrono::milliseconds(50));

  auto reader =
      kiln::bus::SubjectReader::open(*bus, kiln::bus::kEventsStream, "kiln.build.dispatched.>",
                                     kiln::bus::SubjectReader::Start::kNew);
  std::vector<Clock::time_point> sent(kBurst);
  std::vector<double> dispatch;
  std::thread consumer([&] {
    while (static_cast<int>(dispatch.size()) < kBurst) {
      auto msg = (*reader)->next(10000);
      if (!msg.ok() || !msg->has_value()) break;
      auto envelope = kiln::events::decode((*msg)->data());
      const int i = std::stoi(envelope->build_id().substr(1));
      dispatch.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent[i]).count());
    }
  });
  auto publisher = kiln::bus::AsyncPublisher::create(*bus);
  for (int i = 0; i < kBurst; ++i) {
    auto envelope = kiln::events::new_envelope("b" + std::to_string(i), "bench");
    envelope.mutable_requested()->set_project("p" + std::to_string(i % 50));
    auto encoded = kiln::events::encode(envelope);
    sent[i] = Clock::now();
    (void)(*publisher)->publish(encoded.subject, encoded.data, encoded.msg_id);
  }
  (void)(*publisher)->wait();
  consumer.join();

  const double raw_p50 = percentile(raw, 0.5), raw_p99 = percentile(raw, 0.99);
  const double p50 = percentile(dispatch, 0.5), p99 = percentile(dispatch, 0.99);
  std::printf("burst of %d: raw JetStream round trip p50 %.2f ms p99 %.2f ms (%zu msgs)\n", kBurst,
              raw_p50, raw_p99, raw.size());
  std::printf("requested->dispatched p50 %.2f ms p99 %.2f ms (%zu dispatched)\n", p50, p99,
              dispatch.size());
  std::printf("ratio to raw: p50 %.2fx p99 %.2fx\n", p50 / raw_p50, p99 / raw_p99);

  // 10,000 schedules in one minute.
  auto projects = kiln::bus::KeyValue::open(*bus, kiln::bus::kProjectsBucket, {});
  for (int p = 0; p < 1000; ++p) {
    kiln::project::Project project;
    project.name = "cron" + std::to_string(p);
    project.repository_url = "file:///srv/x.git";
    for (int s = 0; s < 10; ++s) {
      project.schedules.push_back(
          {.name = "s" + std::to_string(s), .cron = "* * * * *", .timezone = "UTC", .branch = ""});
    }
    (void)(*projects)->put(project.name, kiln::project::to_json(project));
  }
  auto fires =
      kiln::bus::SubjectReader::open(*bus, kiln::bus::kEventsStream, "kiln.build.requested.>",
                                     kiln::bus::SubjectReader::Start::kNew);
  use_fake = true;
  std::this_thread::sleep_for(std::chrono::seconds(3));  // schedules loaded
  const auto tick = Clock::now();
  fake_now += 60000;
  int fired = 0;
  Clock::time_point last = tick;
  while (fired < 10000) {
    auto msg = (*fires)->next(10000);
    if (!msg.ok() || !msg->has_value()) break;
    ++fired;
    last = Clock::now();
  }
  std::printf("10000 schedules in one minute: %d published in %.0f ms\n", fired,
              std::chrono::duration<double, std::milli>(last - tick).count());
  scheduler.stop();
  return 0;
}
