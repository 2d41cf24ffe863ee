// Scheduler start-up over years of history (issue: bounded history). For each size, a history of
// N finished builds is published straight into KILN_EVENTS (13 events a build, 10,000 builds a
// day, so 1M builds is 100 days ending now), then the real kiln-scheduler binary is started:
//   (a) the peer: snapshots off, a start reads the whole log, as every start did before;
//   (b) kiln as it ships: a first run writes its snapshot, the measured second run loads it and
//       reads the log after it.
// Between the two runs of (b) 769 more builds arrive (9,997 events: just under one snapshot
// interval, the longest tail a restart meets). Reported: time from exec to /readyz 200, peak RSS
// (VmHWM), builds in memory, events read, and requested -> dispatched of one new build in (b).
// Sizes: KILN_BENCH_HISTORY (default 10000,100000,1000000).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "bus/consumer.h"
#include "bus/kv.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "common/strings.h"
#include "events/envelope.h"
#include "support/process.h"
#include "support/servers.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace v1 = kiln::events::v1;

constexpr std::int64_t kBuildEveryMs = 86'400'000 / 10'000;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

v1::Envelope event(const std::string& id, std::int64_t at_ms, int attempt = 0) {
  auto e = kiln::events::new_envelope(id, "history-bench", attempt);
  e.set_occurred_at_ms(at_ms);
  return e;
}

// The 13 events of one build that succeeded.
std::vector<v1::Envelope> life(const std::string& id, std::int64_t t) {
  std::vector<v1::Envelope> out;
  auto requested = event(id, t);
  requested.mutable_requested()->set_project("p" +
                                             std::to_string(std::hash<std::string>{}(id) % 50));
  requested.mutable_requested()->mutable_git()->set_ref("refs/heads/main");
  out.push_back(requested);
  auto queued = event(id, t + 1);
  queued.mutable_queued()->set_position(1);
  out.push_back(queued);
  auto dispatched = event(id, t + 2, 1);
  dispatched.mutable_dispatched()->set_attempt(1);
  out.push_back(dispatched);
  auto started = event(id, t + 100, 1);
  started.mutable_started()->set_attempt(1);
  started.mutable_started()->set_worker_id("builder/bench");
  out.push_back(started);
  for (int step = 1; step <= 3; ++step) {
    auto s = event(id, t + 100 + step * 1000, 1);
    s.mutable_step_started()->set_step(step);
    out.push_back(s);
    auto f = event(id, t + 900 + step * 1000, 1);
    f.mutable_step_finished()->set_step(step);
    out.push_back(f);
  }
  auto built = event(id, t + 5000, 1);
  built.mutable_built()->set_attempt(1);
  out.push_back(built);
  auto pushed = event(id, t + 8000, 1);
  pushed.mutable_pushed();
  out.push_back(pushed);
  out.push_back(event(id, t + 8001, 1));
  out.back().mutable_succeeded();
  return out;
}

// Publishes the history without Msg-Ids (a real history's ids are long out of the window).
double publish_history(kiln::bus::Bus& bus, std::uint64_t builds, std::uint64_t first = 0) {
  auto publisher = kiln::bus::AsyncPublisher::create(bus, 65536);
  if (!publisher.ok()) throw std::runtime_error(publisher.error().describe());
  const auto began = Clock::now();
  const std::int64_t t0 =
      kiln::now_ms() - static_cast<std::int64_t>(builds) * kBuildEveryMs - 60'000;
  for (std::uint64_t i = first; i < first + builds; ++i) {
    const std::string id = "h" + std::to_string(i);
    for (auto& e : life(id, t0 + static_cast<std::int64_t>(i - first) * kBuildEveryMs)) {
      kiln::events::seal(e);
      auto encoded = kiln::events::encode(e);
      if (auto s = (*publisher)->publish(encoded.subject, encoded.data, ""); !s.ok()) {
        throw std::runtime_error(s.error().describe());
      }
    }
    if (i % 20'000 == 19'999) {
      auto stats = (*publisher)->wait(120'000);
      if (!stats.ok() || stats->failed > 0)
        throw std::runtime_error("publishing the history failed");
    }
  }
  auto stats = (*publisher)->wait(120'000);
  if (!stats.ok() || stats->failed > 0) throw std::runtime_error("publishing the history failed");
  return seconds_since(began);
}

long peak_rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

double metric(const kiln::testing::ServiceProcess& service, const std::string& name) {
  std::string text;
  kiln::testing::run_command("curl -sf " + service.url() + "/metrics", &text);
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

struct Start {
  double ready_seconds = 0;
  long rss_kib = 0;
  double known = 0;
  double events_read = 0;
  double dispatch_ms = -1;
};

Start start_scheduler(const std::string& nats_url, const std::string& name, bool snapshots,
                      kiln::bus::Bus* bus_for_latency) {
  const std::string binary = std::string(KILN_BINARY_DIR) + "/services/scheduler/kiln-scheduler";
  std::vector<std::string> args = {"--nats.url=" + nats_url, "--instance=" + name,
                                   "--dispatch.global-limit=0"};
  if (!snapshots) args.push_back("--scheduler.snapshot-every-events=0");
  const auto began = Clock::now();
  kiln::testing::ServiceProcess service(name, binary, kiln::testing::free_port(), {}, args);
  Start result;
  if (!service.wait_ready(1'800'000)) throw std::runtime_error("not ready: " + service.log());
  result.ready_seconds = seconds_since(began);
  result.rss_kib = peak_rss_kib(service.pid());
  result.known = metric(service, "kiln_scheduler_known_builds");
  result.events_read = metric(service, "kiln_scheduler_recovery_events");
  if (bus_for_latency) {
    // One new build: requested published -> its dispatched event stored.
    const std::string id = "fresh-" + name;
    auto reader = kiln::bus::SubjectReader::open(*bus_for_latency, kiln::bus::kEventsStream,
                                                 "kiln.build.dispatched." + id,
                                                 kiln::bus::SubjectReader::Start::kNew);
    auto requested = event(id, kiln::now_ms());
    requested.mutable_requested()->set_project("fresh");
    kiln::events::seal(requested);
    auto encoded = kiln::events::encode(requested);
    const auto sent = Clock::now();
    (void)bus_for_latency->publish(encoded.subject, encoded.data, encoded.msg_id);
    auto got = (*reader)->next(60'000);
    if (got.ok() && got->has_value()) result.dispatch_ms = seconds_since(sent) * 1000;
  }
  if (snapshots) {
    // Let the leader write its snapshot before the run ends (the next start loads it).
    for (int i = 0; i < 600 && metric(service, "kiln_scheduler_snapshot_sequence") <= 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  service.stop();
  return result;
}

}  // namespace

int main() {
  const char* sizes_env = std::getenv("KILN_BENCH_HISTORY");
  const auto sizes = kiln::split_list(sizes_env ? sizes_env : "10000,100000,1000000");
  std::printf(
      "| builds | events | publish s | full replay: ready s | RSS MiB | with snapshot: ready s "
      "| RSS MiB | events read | builds in memory | requested->dispatched ms |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& size : sizes) {
    const std::uint64_t builds = std::stoull(size);
    kiln::testing::NatsServer nats;
    auto connected = kiln::bus::Bus::connect({.url = nats.url(), .name = "history-bench"});
    if (!connected.ok() || !kiln::bus::provision(**connected).ok()) return 1;
    auto& bus = **connected;
    const double publish_s = publish_history(bus, builds);
    const Start replay = start_scheduler(nats.url(), "replay-" + size, false, nullptr);
    (void)start_scheduler(nats.url(), "first-" + size, true, nullptr);  // writes the snapshot
    // The worst tail a restart meets: just under one snapshot interval of events since.
    publish_history(bus, 9'999 / 13, builds);
    const Start loaded = start_scheduler(nats.url(), "loaded-" + size, true, &bus);
    std::printf("| %llu | %llu | %.1f | %.2f | %.0f | %.2f | %.0f | %.0f | %.0f | %.1f |\n",
                static_cast<unsigned long long>(builds),
                static_cast<unsigned long long>(builds * 13), publish_s, replay.ready_seconds,
                static_cast<double>(replay.rss_kib) / 1024, loaded.ready_seconds,
                static_cast<double>(loaded.rss_kib) / 1024, loaded.events_read, loaded.known,
                loaded.dispatch_ms);
    std::fflush(stdout);
  }
  return 0;
}
