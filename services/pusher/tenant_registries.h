// Registry credentials per tenant: a tenant whose directory of the secret store holds
// `docker-config.json` (<secrets.dir>/<tenant>/docker-config.json, Docker's format) pushes its
// images with those credentials and nobody else's; other tenants push with the pusher's own
// (registry.docker-config). The staging registry is always reached with the pusher's own.
// Each tenant's clients are made on first use and kept (warm connections, cached tokens); a
// changed file takes effect at the next start, as for the pusher's own.
//
// Errors: Result (a credentials file that cannot be read).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "registry/clients.h"
#include "secrets/secret_store.h"

namespace kiln::pusher {

inline constexpr char kTenantDockerConfig[] = "docker-config.json";

class TenantRegistries {
 public:
  TenantRegistries(registry::RegistryClients& own, registry::RegistryClientsOptions options,
                   std::string secrets_dir)
      : own_(own), options_(std::move(options)), secrets_dir_(std::move(secrets_dir)) {}

  // The client that pushes `tenant`'s images to `host`.
  Result<registry::RegistryClient*> get(const std::string& tenant, const std::string& host);

 private:
  registry::RegistryClients& own_;
  registry::RegistryClientsOptions options_;
  std::string secrets_dir_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<registry::RegistryClients>> tenants_;  // with a file
};

}  // namespace kiln::pusher
