#include "pusher/tenant_registries.h"

#include <filesystem>

namespace kiln::pusher {

Result<registry::RegistryClient*> TenantRegistries::get(const std::string& tenant,
                                                        const std::string& host) {
  if (secrets_dir_.empty() || tenant.empty()) return own_.get(host);
  registry::RegistryClients* clients = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = tenants_.find(tenant);
    if (it == tenants_.end()) {
      std::unique_ptr<registry::RegistryClients> made;
      // A name that is not a plain tenant name has no store: the pusher's own credentials.
      auto path = secrets::SecretStore(secrets_dir_).path(tenant, "docker-config");
      const std::string file = path.ok() ? std::filesystem::path(*path).parent_path().string() +
                                               "/" + kTenantDockerConfig
                                         : std::string();
      std::error_code ec;
      if (!file.empty() && std::filesystem::exists(file, ec)) {
        registry::RegistryClientsOptions options = options_;
        options.docker_config = file;
        options.credentials_from_environment = false;
        made = std::make_unique<registry::RegistryClients>(std::move(options));
      }
      it = tenants_.emplace(tenant, std::move(made)).first;
    }
    clients = it->second.get();
  }
  return clients != nullptr ? clients->get(host) : own_.get(host);
}

}  // namespace kiln::pusher
