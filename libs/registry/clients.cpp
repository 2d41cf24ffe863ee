#include "registry/clients.h"

#include <algorithm>

#include "common/log.h"
#include "registry/credentials.h"

namespace kiln::registry {

Result<RegistryClient*> RegistryClients::get(const std::string& host) {
  std::lock_guard lock(mutex_);
  if (auto it = clients_.find(host); it != clients_.end()) return it->second.get();

  Result<Credentials> credentials = Credentials{};
  if (options_.credentials_from_environment) {
    credentials = resolve_credentials(host, options_.docker_config);
  } else if (auto found = load_docker_config(options_.docker_config, host); !found.ok()) {
    credentials = found.error();
  } else {
    credentials = found->value_or(Credentials{});
  }
  if (!credentials.ok()) return credentials.error();
  RegistryOptions options = options_.client;
  options.host = host;
  options.insecure = std::find(options_.insecure_hosts.begin(), options_.insecure_hosts.end(),
                               host) != options_.insecure_hosts.end();
  options.credentials = *credentials;
  log::info("registry client created", {{"registry", host},
                                        {"insecure", options.insecure},
                                        {"credentials", options.credentials.describe()}});
  auto client = std::make_unique<RegistryClient>(std::move(options));
  auto* raw = client.get();
  clients_.emplace(host, std::move(client));
  return raw;
}

}  // namespace kiln::registry
