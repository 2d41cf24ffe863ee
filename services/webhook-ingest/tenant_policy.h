// Where each tenant may push and what it may build from, as the operator configured it:
//   tenants.image-prefixes  tenant=HOST[/PATH],...  the registries and repository prefixes a
//                           tenant's images may go to. Empty (the default): no tenant is held to
//                           a prefix, as for one tenant on its own machine.
//   sources.local-tenants   the tenants whose projects may build from file:// or a loopback URL
//                           (what only the server can read). Default: the tenant "default".
//   secrets.server-tenants  the tenants whose projects may name the server's own environment
//                           variables and files (env:, file:) as secrets; the others name their
//                           store only (store:NAME). Default: the tenant "default".
// The global admin (tenant "*") is held to neither. Every image a request would push is checked:
// project apply, POST /v1/builds (project or uploaded Dockerfile) and retries.
//
// Errors: parse() returns a Result; the checks return the refusal's message, or nullopt.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"

namespace kiln::webhook {

class TenantPolicy {
 public:
  static Result<TenantPolicy> parse(const std::vector<std::string>& image_prefixes,
                                    const std::vector<std::string>& local_source_tenants,
                                    const std::vector<std::string>& server_secret_tenants);

  // Why `tenant` may not push to registry/repository; nullopt when it may.
  std::optional<std::string> image_refusal(const std::string& tenant, const std::string& registry,
                                           const std::string& repository) const;
  // Why `tenant` may not build from `repository_url`; nullopt when it may.
  std::optional<std::string> source_refusal(const std::string& tenant,
                                            const std::string& repository_url) const;
  // Why `tenant` may not use the secret reference `ref`; nullopt when it may.
  std::optional<std::string> secret_ref_refusal(const std::string& tenant,
                                                const std::string& ref) const;

 private:
  struct Prefix {
    std::string registry;
    std::string path;  // empty: any repository on the registry
  };
  std::map<std::string, std::vector<Prefix>> prefixes_;  // tenant -> where it may push
  std::set<std::string> local_source_tenants_;
  std::set<std::string> server_secret_tenants_;
};

// A repository URL that reaches what only the server can: file://, or http(s)/ssh to loopback.
bool is_host_local_url(const std::string& url);

}  // namespace kiln::webhook
