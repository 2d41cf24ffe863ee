// Builder benchmark against real parts: nats-server, docker-registry serving kiln's busybox base
// image, and buildah. The same Dockerfile and context are built in the same run
//   (a) by kiln's builder (Worker in-process, fed like the scheduler feeds it): time from
//       publishing `dispatched` to seeing `built`, with where the time went (from event arrival);
//   (b) by hand: `buildah bud` + `buildah push oci:` with the same storage driver (vfs), isolation
//       (chroot), no-network sandbox (`unshare --net` + --pull-never) and --layers,
// for a cold build (--no-cache) and a fully cached rebuild, alternating kiln and hand runs so
// drift hits both. Each side has a storage of its own, with the base image pulled before timing.
// Also: dispatched → started latency with an idle builder.
// Prints medians and the overhead against the aims (10 % or 300 ms; 100 ms); asserts nothing.
//
//   builder_bench            env: ROUNDS (3), LATENCY_SAMPLES (10), DATA_KB (2048)
// Other builds on the machine move these numbers by seconds: read them beside the load average
// printed with them.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "builder/builder.h"
#include "bus/bus.h"
#include "bus/consumer.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "common/log.h"
#include "events/envelope.h"
#include "events/subjects.h"
#include "support/git_repo.h"
#include "support/pipeline.h"
#include "support/process.h"
#include "support/servers.h"

namespace {

namespace fs = std::filesystem;
namespace v1 = kiln::events::v1;
using Clock = std::chrono::steady_clock;
using kiln::testing::must_run;
using kiln::testing::sh_quote;

int env_int(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::atoi(value) : fallback;
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string storage_flags(const std::string& root) {
  return "--root " + sh_quote(root + "/root") + " --runroot " + sh_quote(root + "/run") +
         " --storage-driver vfs";
}

// The context: a few RUN and COPY steps over ~DATA_KB of files, so layers are not trivial.
void write_context(const std::string& dir, const std::string& base_image, int data_kb) {
  fs::create_directories(dir + "/data");
  std::ofstream(dir + "/Dockerfile")
      << "FROM " << base_image << "\n"
      << "ARG VERSION=1\n"
      << "RUN mkdir -p /app && echo \"version $VERSION\" > /app/version\n"
      << "COPY data/ /app/data/\n"
      << "RUN find /app -type f | sort > /app/files && wc -l /app/files\n"
      << "COPY app.sh /app/app.sh\n"
      << "RUN sh /app/app.sh > /app/out && cat /app/out\n";
  // For the latency samples: a build that costs little, so many fit in the run.
  std::ofstream(dir + "/Dockerfile.tiny") << "FROM " << base_image << "\nRUN true\n";
  std::ofstream(dir + "/app.sh") << "#!/bin/sh\necho \"app: $(cat /app/version)\"\n"
                                 << "du -sk /app/data\n";
  for (int i = 0; i < 8; ++i) {
    must_run("head -c " + std::to_string(data_kb * 1024 / 8) + " /dev/urandom > " +
             sh_quote(dir + "/data/part" + std::to_string(i) + ".bin"));
  }
}

struct HandRun {
  double bud_ms = 0;
  double push_ms = 0;
  double total() const { return bud_ms + push_ms; }
};

struct KilnRun {
  double dispatched_to_built_ms = 0;
  double dispatched_to_started_ms = 0;
  double started_to_first_step_ms = 0;  // fetch, base image check, buildah start
  double last_step_to_built_ms = 0;     // OCI export, layout summary, publish
  int steps_cached = 0;
};

class Bench {
 public:
  Bench() : root_(kiln::testing::make_temp_dir("kiln-builder-bench")) {
    nats_ = std::make_unique<kiln::testing::NatsServer>();
    registry_ = std::make_unique<kiln::testing::RegistryServer>();
    kiln::testing::push_base_image(registry_->host(), root_ + "/base");
    base_image_ = registry_->host() + "/kiln/busybox";

    bus_ = kiln::testing::connect_bus(nats_->url(), "builder-bench");

    options_.worker_id = "builder-bench";
    options_.buildah_root = root_ + "/kiln";
    options_.artifacts_dir = root_ + "/artifacts";
    options_.work_dir = root_ + "/work";
    options_.insecure_registries = {registry_->host()};
    options_.staging.registry = registry_->host();
    options_.platform = "linux/amd64";
    options_.common.http.port = 0;
    builder_ = std::make_unique<kiln::builder::Builder>(options_, *bus_);
    builder_->start();

    context_ = root_ + "/context";
    write_context(context_, base_image_, env_int("DATA_KB", 2048));
    kiln::testing::git_init(context_);
    commit_ = kiln::testing::git_commit_all(context_, "bench");

    // Both sides start with the base image in their storage (a builder's steady state).
    for (const auto& storage : {root_ + "/hand", options_.buildah_root}) {
      must_run("buildah " + storage_flags(storage) + " pull -q --tls-verify=false " +
               sh_quote(base_image_));
    }
  }

  ~Bench() {
    builder_->stop();
    builder_.reset();
    bus_.reset();
    registry_.reset();
    nats_.reset();
    kiln::testing::remove_tree(root_);
  }

  // `buildah bud` + `buildah push oci:` as a user would type them.
  HandRun hand_build(bool no_cache) {
    const std::string flags = storage_flags(root_ + "/hand");
    const std::string layout = root_ + "/hand-layout-" + kiln::random_id();
    const std::string iid = root_ + "/hand-iid";
    HandRun run;
    auto t0 = Clock::now();
    must_run("unshare --net buildah " + flags + " bud -q --isolation chroot --layers " +
             "--pull-never " + (no_cache ? "--no-cache " : "") + "--iidfile " + sh_quote(iid) +
             " -f " + sh_quote(context_ + "/Dockerfile") + " " + sh_quote(context_));
    run.bud_ms = ms_since(t0);
    t0 = Clock::now();
    must_run("buildah " + flags + " push -q \"$(cat " + sh_quote(iid) + ")\" " +
             sh_quote("oci:" + layout + ":latest"));
    run.push_ms = ms_since(t0);
    fs::remove_all(layout);
    return run;
  }

  // The shallow fetch kiln does before building, by hand: the part of kiln's time a user who
  // already has the checkout does not spend.
  double git_fetch_by_hand() {
    const std::string dir = root_ + "/fetch-" + kiln::random_id();
    fs::create_directories(dir);
    const auto t0 = Clock::now();
    must_run("cd " + sh_quote(dir) + " && git init -q . && git fetch -q --depth 1 --no-tags -- " +
             sh_quote("file://" + context_) + " " + commit_ +
             " && git checkout -q --detach FETCH_HEAD && git rev-parse HEAD >/dev/null");
    const double ms = ms_since(t0);
    fs::remove_all(dir);
    return ms;
  }

  KilnRun kiln_build(bool no_cache, const std::string& dockerfile = {}) {
    const std::string id = kiln::random_id();
    v1::BuildSpec spec;
    spec.set_no_cache(no_cache);
    if (!dockerfile.empty()) spec.set_dockerfile(dockerfile);
    publish(kiln::testing::make_git_requested(id, "file://" + context_, commit_, "refs/heads/main",
                                              spec, "bench", "bench"));

    // Subscribed before dispatching, so arrival times are not shifted by a reader's start-up.
    auto reader = kiln::bus::SubjectReader::open(*bus_, kiln::bus::kEventsStream,
                                                 kiln::events::build_events_filter(id),
                                                 kiln::bus::SubjectReader::Start::kAll);
    if (!reader.ok()) throw std::runtime_error(reader.error().describe());
    auto dispatched = kiln::testing::make_dispatched(id, 1, "bench");
    const auto t0 = Clock::now();
    publish(std::move(dispatched));

    KilnRun run;
    double first_step_ms = -1;
    double last_step_ms = 0;
    double started_ms = 0;
    const auto deadline = t0 + std::chrono::minutes(5);
    while (Clock::now() < deadline) {
      auto next = (*reader)->next(1000);
      if (!next.ok()) throw std::runtime_error(next.error().describe());
      if (!next->has_value()) continue;
      const double at = ms_since(t0);
      auto event = kiln::events::decode((*next)->data());
      if (!event.ok()) continue;
      if (event->has_started()) started_ms = at;
      if (event->has_step_started() && first_step_ms < 0) first_step_ms = at;
      if (event->has_step_finished()) last_step_ms = at;
      if (event->has_failed() || event->has_cancelled()) {
        throw std::runtime_error("kiln build did not succeed: " + event->DebugString());
      }
      if (event->has_built()) {
        run.dispatched_to_built_ms = at;
        run.dispatched_to_started_ms = started_ms;
        run.started_to_first_step_ms = first_step_ms - started_ms;
        run.last_step_to_built_ms = at - last_step_ms;
        run.steps_cached = event->built().steps_cached();
        return run;
      }
    }
    throw std::runtime_error("no built event within 5 minutes for build " + id);
  }

  // dispatched → started for a build whose requested event names its commit (the builder
  // publishes `started` before fetching).
  double started_latency() {
    // Let the builder finish its between-builds cache check and go back to waiting for work.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return kiln_build(false, "Dockerfile.tiny").dispatched_to_started_ms;
  }

 private:
  void publish(v1::Envelope envelope) {
    auto ack = kiln::testing::try_publish(*bus_, envelope);
    if (!ack.ok()) throw std::runtime_error(ack.error().describe());
  }

  std::string root_;
  std::unique_ptr<kiln::testing::NatsServer> nats_;
  std::unique_ptr<kiln::testing::RegistryServer> registry_;
  std::string base_image_;
  std::unique_ptr<kiln::bus::Bus> bus_;
  kiln::builder::BuilderOptions options_;
  std::unique_ptr<kiln::builder::Builder> builder_;
  std::string context_;
  std::string commit_;
};

void report(const char* name, const std::vector<HandRun>& hand, const std::vector<KilnRun>& kiln,
            double fetch_ms) {
  std::vector<double> hand_total, bud, push, total, started, before_steps, after_steps;
  for (const auto& r : hand) {
    hand_total.push_back(r.total());
    bud.push_back(r.bud_ms);
    push.push_back(r.push_ms);
  }
  for (const auto& r : kiln) {
    total.push_back(r.dispatched_to_built_ms);
    started.push_back(r.dispatched_to_started_ms);
    before_steps.push_back(r.started_to_first_step_ms);
    after_steps.push_back(r.last_step_to_built_ms);
  }
  const double h = median(hand_total);
  const double k = median(total);
  const double overhead = k - h;
  const double allowed = std::max(0.10 * h, 300.0);
  std::printf("%s (median of %zu):\n", name, hand.size());
  std::printf("  by hand  buildah bud + push oci:     %8.0f ms   (bud %.0f, push %.0f)\n", h,
              median(bud), median(push));
  std::printf("  kiln     dispatched -> built         %8.0f ms   (steps cached: %d)\n", k,
              kiln.empty() ? 0 : kiln.back().steps_cached);
  std::printf("    of which dispatched -> started   %8.0f ms\n", median(started));
  std::printf(
      "             started -> first step   %8.0f ms   (git fetch, base image check, "
      "buildah start)\n",
      median(before_steps));
  std::printf(
      "             last step -> built      %8.0f ms   (last commit, OCI export, "
      "publish)\n",
      median(after_steps));
  std::printf("  overhead %+.0f ms (%+.1f %%); aim <= %.0f ms: %s\n", overhead,
              h > 0 ? 100.0 * overhead / h : 0.0, allowed, overhead <= allowed ? "met" : "MISSED");
  std::printf("  overhead beyond the git fetch (%.0f ms by hand): %+.0f ms (%+.1f %%)\n", fetch_ms,
              overhead - fetch_ms, h > 0 ? 100.0 * (overhead - fetch_ms) / h : 0.0);
}

}  // namespace

int main() {
  kiln::log::init("builder-bench", "warn");
  try {
    const int rounds = std::max(1, env_int("ROUNDS", 3));
    const int samples = std::max(1, env_int("LATENCY_SAMPLES", 10));
    Bench bench;
    std::printf("builder benchmark: vfs storage, chroot isolation, no-network RUN; %d rounds\n",
                rounds);
    std::printf("load average at start: %s", must_run("cat /proc/loadavg").c_str());
    // Warm-up (untimed): fills both layer caches and the page cache.
    bench.hand_build(false);
    bench.kiln_build(false);

    std::vector<HandRun> hand_cold, hand_cached;
    std::vector<double> fetches;
    std::vector<KilnRun> kiln_cold, kiln_cached;
    for (int i = 0; i < rounds; ++i) {
      // Alternate which side goes first so neither always runs on a warmer machine.
      if (i % 2 == 0) {
        hand_cold.push_back(bench.hand_build(true));
        kiln_cold.push_back(bench.kiln_build(true));
      } else {
        kiln_cold.push_back(bench.kiln_build(true));
        hand_cold.push_back(bench.hand_build(true));
      }
    }
    for (int i = 0; i < rounds; ++i) {
      if (i % 2 == 0) {
        hand_cached.push_back(bench.hand_build(false));
        kiln_cached.push_back(bench.kiln_build(false));
      } else {
        kiln_cached.push_back(bench.kiln_build(false));
        hand_cached.push_back(bench.hand_build(false));
      }
    }
    for (int i = 0; i < 5; ++i) fetches.push_back(bench.git_fetch_by_hand());
    const double fetch_ms = median(fetches);
    std::vector<double> latency;
    for (int i = 0; i < samples; ++i) latency.push_back(bench.started_latency());

    report("cold build (--no-cache)", hand_cold, kiln_cold, fetch_ms);
    report("fully cached rebuild", hand_cached, kiln_cached, fetch_ms);
    std::sort(latency.begin(), latency.end());
    const double p50 = median(latency);
    std::printf(
        "dispatched -> started, idle builder (%d samples): p50 %.1f ms, max %.1f ms; "
        "aim < 100 ms: %s\n",
        samples, p50, latency.back(), p50 < 100 ? "met" : "MISSED");
    std::printf("load average at end: %s", must_run("cat /proc/loadavg").c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "builder_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
