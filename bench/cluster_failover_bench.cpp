// What a NATS node's death costs kiln (issue: many hosts). A 3-node cluster, every stream R3,
// two real kiln-scheduler processes given the URL list. For each round a new build is requested
// and the time from publishing `requested` to its `dispatched` being stored is measured:
//   (a) the peer: all three nodes up;
//   (b) right after kill -9 of the node leading KILN_EVENTS (publish retried as clients do);
// the node is restarted and the cluster settles between rounds. Reported: median and worst of
// each, and (b) over (a). Rounds: KILN_BENCH_ROUNDS (default 5).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bus/cluster.h"
#include "bus/consumer.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "support/nats_cluster.h"
#include "support/pipeline.h"
#include "support/servers.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Milliseconds from publishing `requested` of a new build to its `dispatched`; -1 if none in 60 s.
double request_to_dispatch_ms(kiln::bus::Bus& bus) {
  const std::string id = kiln::random_id();
  auto requested = kiln::testing::make_requested(id);
  const auto began = Clock::now();
  while (!kiln::testing::try_publish(bus, requested).ok()) {
    if (Clock::now() - began > 60s) return -1;
    std::this_thread::sleep_for(20ms);
  }
  while (Clock::now() - began < 60s) {
    auto last =
        kiln::bus::last_message(bus, kiln::bus::kEventsStream, "kiln.build.dispatched." + id);
    if (last.ok() && last->has_value()) {
      return std::chrono::duration<double, std::milli>(Clock::now() - began).count();
    }
    std::this_thread::sleep_for(5ms);
  }
  return -1;
}

struct Summary {
  double median = 0;
  double worst = 0;
};

Summary summarize(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  if (values.empty()) return {};
  return {values[values.size() / 2], values.back()};
}

}  // namespace

int main() {
  const char* rounds_env = std::getenv("KILN_BENCH_ROUNDS");
  const int rounds = rounds_env ? std::atoi(rounds_env) : 5;
  kiln::testing::NatsCluster cluster(3);
  auto bus = cluster.connect("failover-bench", cluster.urls());
  std::vector<std::unique_ptr<kiln::testing::ServiceProcess>> schedulers;
  for (const char* name : {"scheduler-a", "scheduler-b"}) {
    schedulers.push_back(std::make_unique<kiln::testing::ServiceProcess>(
        name, std::string(KILN_BINARY_DIR) + "/services/scheduler/kiln-scheduler",
        kiln::testing::free_port(), std::map<std::string, std::string>{},
        std::vector<std::string>{"--nats.url=" + cluster.urls(), "--nats.replicas=3",
                                 "--instance=" + std::string(name), "--dispatch.global-limit=0"}));
    if (!schedulers.back()->wait_ready(60'000)) {
      std::fprintf(stderr, "scheduler not ready:\n%s\n", schedulers.back()->log().c_str());
      return 1;
    }
  }
  std::vector<double> healthy, after_kill;
  for (int round = 0; round < rounds; ++round) {
    healthy.push_back(request_to_dispatch_ms(*bus));
    auto leader = kiln::bus::stream_leader(*bus, kiln::bus::kEventsStream);
    const int victim = leader.ok() ? cluster.index_of(*leader) : -1;
    if (victim < 0) {
      std::fprintf(stderr, "no leader of KILN_EVENTS\n");
      return 1;
    }
    cluster.node(victim).kill9();
    after_kill.push_back(request_to_dispatch_ms(*bus));
    cluster.node(victim).restart();
    // Let the restarted node catch up before the next healthy round.
    std::this_thread::sleep_for(5s);
  }
  const auto a = summarize(healthy);
  const auto b = summarize(after_kill);
  std::printf(
      "NATS node death -> next dispatched build, 3-node cluster, R3, 2 schedulers, %d rounds\n"
      "| case | median ms | worst ms |\n|---|---|---|\n"
      "| (a) all nodes up (peer) | %.1f | %.1f |\n"
      "| (b) leader of KILN_EVENTS killed just before | %.1f | %.1f |\n"
      "(b)/(a) median: %.0fx\n",
      rounds, a.median, a.worst, b.median, b.worst, a.median > 0 ? b.median / a.median : 0);
  return 0;
}
