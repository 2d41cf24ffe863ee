// Builders on many hosts (issue 15), against real parts: nats-server, docker-registry serving
// kiln's busybox base image and holding the staging and shared-cache repositories, buildah.
// Builder replicas run in this process, each with a storage of its own (as on separate hosts),
// with default options but their directories.
//
//   1. Throughput: BUILDS small builds dominated by a `sleep` step (no cache), dispatched at
//      once, drained by 1 and then by 2 builders; builds per minute and the ratio (aim >= 1.7x).
//   2. Shared layer cache: a builder that never saw a project builds it after another builder
//      did: with the shared cache (the default) against without (cache.shared=false), each on a
//      fresh storage holding only the base image. Time dispatched -> built, median of ROUNDS,
//      and the ratio (aim >= 2x).
// Prints numbers; asserts nothing.
//
//   builder_scaleout_bench    env: BUILDS (8), SLEEP_SECONDS (3), ROUNDS (3)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "builder/builder.h"
#include "bus/bus.h"
#include "common/ids.h"
#include "common/log.h"
#include "support/pipeline.h"
#include "support/process.h"
#include "support/servers.h"

namespace {

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

class Bench {
 public:
  Bench() : root_(kiln::testing::make_temp_dir("kiln-scaleout-bench")) {
    nats_ = std::make_unique<kiln::testing::NatsServer>();
    registry_ = std::make_unique<kiln::testing::RegistryServer>();
    kiln::testing::push_base_image(registry_->host(), root_ + "/base");
    base_image_ = registry_->host() + "/kiln/busybox";
    bus_ = kiln::testing::connect_bus(nats_->url(), "scaleout-bench");
  }

  ~Bench() {
    bus_.reset();
    registry_.reset();
    nats_.reset();
    kiln::testing::remove_tree(root_);
  }

  const std::string& base_image() const { return base_image_; }

  // A replica on a fresh storage that already holds the base image (a builder's steady state).
  std::unique_ptr<kiln::builder::Builder> replica(bool shared_cache) {
    kiln::builder::BuilderOptions options;
    const std::string dir = root_ + "/" + kiln::random_id();
    options.worker_id = "bench-" + kiln::random_id().substr(0, 6);
    options.buildah_root = dir + "/buildah";
    options.artifacts_dir = dir + "/artifacts";
    options.work_dir = dir + "/work";
    options.insecure_registries = {registry_->host()};
    options.staging.registry = registry_->host();
    options.platform = "linux/amd64";
    options.common.http.port = 0;
    options.shared_cache.enabled = shared_cache;
    must_run("buildah --root " + sh_quote(options.buildah_root + "/root") + " --runroot " +
             sh_quote(options.buildah_root + "/run") + " --storage-driver vfs pull -q " +
             "--tls-verify=false " + sh_quote(base_image_) + " >/dev/null");
    auto builder = std::make_unique<kiln::builder::Builder>(options, *bus_);
    builder->start();
    return builder;
  }

  // Publishes requested + dispatched of an uploaded-Dockerfile build; returns its id.
  std::string dispatch(const std::string& project, const std::string& dockerfile, bool no_cache) {
    const std::string id = kiln::random_id();
    auto requested = kiln::testing::make_upload_requested(id, project, dockerfile);
    requested.mutable_requested()->mutable_spec()->set_no_cache(no_cache);
    kiln::testing::publish(*bus_, requested);
    kiln::testing::publish(*bus_, kiln::testing::make_dispatched(id, 1, "bench"));
    return id;
  }

  v1::ImageBuilt wait_built(const std::string& id) {
    const auto outcome = kiln::testing::wait_build_outcome(*bus_, id);
    if (!outcome.has_built()) throw std::runtime_error("build failed: " + outcome.DebugString());
    return outcome.built();
  }

 private:
  std::string root_;
  std::unique_ptr<kiln::testing::NatsServer> nats_;
  std::unique_ptr<kiln::testing::RegistryServer> registry_;
  std::string base_image_;
  std::unique_ptr<kiln::bus::Bus> bus_;
};

// Wall time for `builds` sleep-dominated builds drained by `replicas` builders.
double drain_ms(Bench& bench, int replicas, int builds, int sleep_seconds) {
  std::vector<std::unique_ptr<kiln::builder::Builder>> builders;
  for (int i = 0; i < replicas; ++i) builders.push_back(bench.replica(false));
  const std::string dockerfile = "FROM " + bench.base_image() + "\nRUN sleep " +
                                 std::to_string(sleep_seconds) + " && echo done > /done\n";
  const auto t0 = Clock::now();
  std::vector<std::string> ids;
  for (int i = 0; i < builds; ++i) ids.push_back(bench.dispatch("throughput", dockerfile, true));
  for (const auto& id : ids) bench.wait_built(id);
  return ms_since(t0);
}

// What a cold builder pays for a project another builder built: dispatched -> built.
double second_builder_ms(Bench& bench, bool shared_cache, const std::string& dockerfile) {
  const std::string project = "scaleout-" + kiln::random_id().substr(0, 8);
  {
    auto first = bench.replica(shared_cache);
    bench.wait_built(bench.dispatch(project, dockerfile, false));
    // The step images are pushed after the ack; a stop waits for that to finish.
    first->stop();
  }
  auto second = bench.replica(shared_cache);
  const auto t0 = Clock::now();
  const auto built = bench.wait_built(bench.dispatch(project, dockerfile, false));
  const double ms = ms_since(t0);
  std::printf("    %s: %6.0f ms, %d of %d steps cached\n",
              shared_cache ? "shared cache   " : "no shared cache", ms, built.steps_cached(),
              built.steps_total());
  return ms;
}

}  // namespace

int main() {
  kiln::log::init("scaleout-bench", "warn");
  try {
    const int builds = std::max(2, env_int("BUILDS", 8));
    const int sleep_seconds = std::max(1, env_int("SLEEP_SECONDS", 3));
    const int rounds = std::max(1, env_int("ROUNDS", 3));
    Bench bench;
    std::printf("builder scale-out benchmark (vfs, chroot, no-network RUN)\n");
    std::printf("load average at start: %s", must_run("cat /proc/loadavg").c_str());

    const double one = drain_ms(bench, 1, builds, sleep_seconds);
    const double two = drain_ms(bench, 2, builds, sleep_seconds);
    const double per_min_one = builds * 60000.0 / one;
    const double per_min_two = builds * 60000.0 / two;
    std::printf("throughput, %d builds of `RUN sleep %d` (no cache):\n", builds, sleep_seconds);
    std::printf("  1 builder   %6.0f ms  %5.1f builds/min\n", one, per_min_one);
    std::printf("  2 builders  %6.0f ms  %5.1f builds/min\n", two, per_min_two);
    std::printf("  ratio %.2fx; aim >= 1.7x: %s\n", per_min_two / per_min_one,
                per_min_two / per_min_one >= 1.7 ? "met" : "MISSED");

    // A project's typical expensive steps: work on the CPU, and a wait (a download, say).
    const std::string dockerfile =
        "FROM " + bench.base_image() +
        "\nRUN head -c 40000000 /dev/urandom | gzip -1 > /blob.gz\n"
        "RUN sleep 2 && echo fetched > /fetched\n"
        "RUN i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo $i > /count\n"
        "RUN echo setting=1 > /config\n";
    std::printf("second builder's first build of a project another builder built:\n");
    std::vector<double> with_shared, without_shared;
    for (int i = 0; i < rounds; ++i) {
      // Alternate which goes first so neither always runs on a warmer machine.
      if (i % 2 == 0) {
        with_shared.push_back(second_builder_ms(bench, true, dockerfile));
        without_shared.push_back(second_builder_ms(bench, false, dockerfile));
      } else {
        without_shared.push_back(second_builder_ms(bench, false, dockerfile));
        with_shared.push_back(second_builder_ms(bench, true, dockerfile));
      }
    }
    const double with_ms = median(with_shared);
    const double without_ms = median(without_shared);
    std::printf(
        "  median of %d: shared cache %.0f ms, without %.0f ms: %.2fx faster; "
        "aim >= 2x: %s\n",
        rounds, with_ms, without_ms, without_ms / with_ms,
        without_ms / with_ms >= 2 ? "met" : "MISSED");
    std::printf("load average at end: %s", must_run("cat /proc/loadavg").c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "builder_scaleout_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
