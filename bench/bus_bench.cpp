// Publish throughput of libs/bus against a raw nats.c loop doing the same work in the same run:
// 500-byte events, each with its own Nats-Msg-Id, into KILN_EVENTS on a fresh file-storage
// nats-server. Prints events/s for each and the ratio kiln/raw. No assertions: numbers only.
#include <nats/nats.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bus/bus.h"
#include "bus/topology.h"
#include "support/servers.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The peer: nats.c called directly, the way a careful C programmer would.
double raw_sync(jsCtx* js, const std::string& payload, int n, const std::string& prefix) {
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    const std::string id = prefix + std::to_string(i);
    const std::string subject = "kiln.build.bench." + std::to_string(i % 64);
    jsPubOptions opts;
    jsPubOptions_Init(&opts);
    opts.MsgId = id.c_str();
    jsPubAck* ack = nullptr;
    if (js_Publish(&ack, js, subject.c_str(), payload.data(), static_cast<int>(payload.size()),
                   &opts, nullptr) != NATS_OK) {
      std::fprintf(stderr, "raw publish failed\n");
      std::exit(1);
    }
    jsPubAck_Destroy(ack);
  }
  return n / seconds_since(start);
}

double raw_async(jsCtx* js, const std::string& payload, int n, const std::string& prefix) {
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    const std::string id = prefix + std::to_string(i);
    const std::string subject = "kiln.build.bench." + std::to_string(i % 64);
    jsPubOptions opts;
    jsPubOptions_Init(&opts);
    opts.MsgId = id.c_str();
    if (js_PublishAsync(js, subject.c_str(), payload.data(), static_cast<int>(payload.size()),
                        &opts) != NATS_OK) {
      std::fprintf(stderr, "raw async publish failed\n");
      std::exit(1);
    }
  }
  jsPubOptions opts;
  jsPubOptions_Init(&opts);
  opts.MaxWait = 60000;
  js_PublishAsyncComplete(js, &opts);
  return n / seconds_since(start);
}

double kiln_sync(kiln::bus::Bus& bus, const std::string& payload, int n,
                 const std::string& prefix) {
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto ack = bus.publish("kiln.build.bench." + std::to_string(i % 64), payload,
                           prefix + std::to_string(i));
    if (!ack.ok()) {
      std::fprintf(stderr, "kiln publish failed: %s\n", ack.error().describe().c_str());
      std::exit(1);
    }
  }
  return n / seconds_since(start);
}

double kiln_async(kiln::bus::Bus& bus, const std::string& payload, int n,
                  const std::string& prefix) {
  auto publisher = kiln::bus::AsyncPublisher::create(bus);
  if (!publisher.ok()) std::exit(1);
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    if (!(*publisher)
             ->publish("kiln.build.bench." + std::to_string(i % 64), payload,
                       prefix + std::to_string(i))
             .ok()) {
      std::exit(1);
    }
  }
  auto stats = (*publisher)->wait(60000);
  if (!stats.ok() || stats->failed > 0) {
    std::fprintf(stderr, "kiln async publish failed\n");
    std::exit(1);
  }
  return n / seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int rounds = 3;
  const std::string payload(500, 'x');
  kiln::testing::NatsServer nats;
  auto bus = kiln::bus::Bus::connect({.url = nats.url(), .name = "bench"});
  if (!bus.ok() || !kiln::bus::provision(**bus).ok()) {
    std::fprintf(stderr, "cannot connect to nats-server\n");
    return 1;
  }
  jsCtx* raw_js = (*bus)->js();
  double best[4] = {0, 0, 0, 0};
  // Interleaved rounds, best of each: both sides see the same server state and disk.
  for (int r = 0; r < rounds; ++r) {
    const std::string round = std::to_string(r);
    best[0] = std::max(best[0], raw_sync(raw_js, payload, n, "raw-sync-" + round + "-"));
    best[1] = std::max(best[1], kiln_sync(**bus, payload, n, "kiln-sync-" + round + "-"));
    best[2] = std::max(best[2], raw_async(raw_js, payload, n, "raw-async-" + round + "-"));
    best[3] = std::max(best[3], kiln_async(**bus, payload, n, "kiln-async-" + round + "-"));
  }
  std::printf("bus publish, %d x 500-byte events with Msg-Id, best of %d rounds\n", n, rounds);
  std::printf("  sync : raw nats.c %9.0f ev/s   libs/bus %9.0f ev/s   ratio %.2f\n", best[0],
              best[1], best[1] / best[0]);
  std::printf("  async: raw nats.c %9.0f ev/s   libs/bus %9.0f ev/s   ratio %.2f\n", best[2],
              best[3], best[3] / best[2]);
  return 0;
}
