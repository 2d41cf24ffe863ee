// One RegistryClient per registry host (the builder's staging pushes, the pusher's promotions),
// made on first use and kept: its pooled keep-alive
// connections and cached Bearer tokens then serve every later push to that host. Credentials are
// resolved when a host's client is made (environment, then the configured config.json); a
// changed config.json takes effect at the next start.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "registry/client.h"
#include "registry/options.h"

namespace kiln::registry {

struct RegistryClientsOptions {
  std::vector<std::string> insecure_hosts;  // reached over plain HTTP
  std::string docker_config;                // empty: $DOCKER_CONFIG or ~/.docker
  // false: only `docker_config` counts (a tenant's own credentials), not the environment's.
  bool credentials_from_environment = true;
  // Every host's client starts from this (parallelism, timeouts, retries); host, insecure and
  // credentials are filled in per host.
  RegistryOptions client;
};

// Options whose only change from the defaults is the hosts reached over plain HTTP.
inline RegistryClientsOptions with_insecure_hosts(std::vector<std::string> hosts) {
  RegistryClientsOptions options;
  options.insecure_hosts = std::move(hosts);
  return options;
}

class RegistryClients {
 public:
  explicit RegistryClients(RegistryClientsOptions options) : options_(std::move(options)) {}

  // The client for `host`; an error when its credentials cannot be read (malformed config.json).
  // The client lives as long as this object and is safe to share between threads.
  Result<RegistryClient*> get(const std::string& host);

 private:
  RegistryClientsOptions options_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<RegistryClient>> clients_;
};

}  // namespace kiln::registry
