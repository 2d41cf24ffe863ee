#include "pusher/options.h"

#include "common/strings.h"

namespace kiln::pusher {
namespace {

int positive_int(const Config& config, const std::string& name) {
  const long long value = config.get_int(name);
  if (value < 1 || value > 1024) throw ConfigError(name + " must be between 1 and 1024");
  return static_cast<int>(value);
}

}  // namespace

void declare_options(Config& config) {
  config.option("worker.id", "", "Producer id in published events (default: the instance id)")
      .option("push.slots", "2", "Pushes run at once by this replica")
      .option("push.heartbeat-seconds", "5",
              "Seconds between in-progress acks and worker heartbeats while pushing (below the "
              "consumer's AckWait and dispatch.worker-lost-seconds)")
      .option("artifacts.dir", ".kiln/artifacts",
              "Artifact store: the builder's OCI layouts; the pusher removes a layout after its "
              "build ends, and never deletes anything outside this directory")
      .option("registry.insecure", "",
              "Registries reached over plain HTTP (comma list of host:port); others use TLS")
      .option("registry.docker-config", "",
              "Docker config.json with registry credentials (default: $DOCKER_CONFIG/config.json "
              "or ~/.docker/config.json; KILN_REGISTRY_USERNAME/PASSWORD take precedence)")
      .option("registry.parallelism", "4", "Blob uploads at once within one push")
      .option(
          "push.retry-window-seconds", "600",
          "A registry unreachable or overloaded (5xx, 429, timeouts) is tried again later until "
          "this long after the build was built; then the build fails");
}

PusherOptions read_options(const Config& config, const std::string& instance) {
  PusherOptions options;
  options.worker_id = config.get("worker.id").empty() ? instance : config.get("worker.id");
  options.slots = positive_int(config, "push.slots");
  options.heartbeat_seconds = positive_int(config, "push.heartbeat-seconds");
  options.parallelism = positive_int(config, "registry.parallelism");
  options.retry_window_seconds = positive_int(config, "push.retry-window-seconds");
  options.artifacts_dir = config.get("artifacts.dir");
  if (options.artifacts_dir.empty()) throw ConfigError("artifacts.dir must not be empty");
  options.insecure_registries = split_list(config.get("registry.insecure"));
  options.docker_config = config.get("registry.docker-config");
  return options;
}

}  // namespace kiln::pusher
