// The pusher's options: each member's initialiser is its default; describe() names, explains and
// bounds them once for --help, docs/configuration.md and the checks at start-up.
#pragma once

#include <string>

#include "common/config.h"
#include "registry/clients.h"
#include "registry/staging.h"
#include "service/service.h"

namespace kiln::pusher {

inline constexpr int kDefaultHttpPort = 8084;

struct PusherOptions {
  service::CommonOptions common{kDefaultHttpPort};
  std::string worker_id;  // producer of its events; empty: the instance
  int slots = 2;          // pushes at once
  // Handed to RegistryClients as is.
  registry::RegistryClientsOptions registries =
      registry::with_insecure_hosts(service::kDefaultInsecureRegistries);
  registry::StagingOptions staging;  // where builders leave images; swept here by age
  int heartbeat_seconds = 5;         // in-progress acks while pushing (AckWait 30 s)
  // A registry that is unreachable or overloaded (after the client's own retries) is tried again
  // later until the build has waited this long since `built`; then the build fails.
  int retry_window_seconds = 600;
  // The secret store: a tenant's <dir>/<tenant>/docker-config.json are its registry credentials
  // (tenant_registries.h). Empty: every tenant pushes with registries.docker_config.
  std::string secrets_dir;
};

// A Config for kiln-pusher with every option bound to a member of `options`.
Config describe(PusherOptions& options);

}  // namespace kiln::pusher
