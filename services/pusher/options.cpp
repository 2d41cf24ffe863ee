#include "pusher/options.h"

namespace kiln::pusher {

Config describe(PusherOptions& o) {
  Config config = service::make_config(
      "kiln-pusher", "Promotes staged images to their registry over the OCI distribution API.",
      o.common);
  config.bind("worker.id", o.worker_id,
              "Producer id in published events (default: the instance id)");
  config.bind("push.slots", o.slots, "Pushes run at once by this replica").range(1, 1024);
  config
      .bind("push.heartbeat-seconds", o.heartbeat_seconds,
            "Seconds between in-progress acks and worker heartbeats while pushing (below the "
            "consumer's AckWait of 30 s and dispatch.worker-lost-seconds)")
      .range(1, 25);
  registry::bind_staging(config, o.staging, /*sweeps=*/true);
  config.bind("registry.insecure", o.registries.insecure_hosts,
              "Registries reached over plain HTTP (comma list of host:port); others use TLS");
  config.bind("registry.docker-config", o.registries.docker_config,
              "Docker config.json with registry credentials (default: $DOCKER_CONFIG/config.json "
              "or ~/.docker/config.json; KILN_REGISTRY_USERNAME/PASSWORD take precedence)");
  config.bind("secrets.dir", o.secrets_dir,
              "The secret store: <dir>/<tenant>/docker-config.json, when there, holds the registry "
              "credentials of that tenant's pushes (instead of registry.docker-config)");
  config
      .bind("registry.parallelism", o.registries.client.parallelism,
            "Blob uploads at once within one push")
      .range(1, 1024);
  config
      .bind("push.retry-window-seconds", o.retry_window_seconds,
            "A registry unreachable or overloaded (5xx, 429, timeouts) is tried again later until "
            "this long after the build was built; then the build fails")
      .range(1, 24 * 3600);
  return config;
}

}  // namespace kiln::pusher
