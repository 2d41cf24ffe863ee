#include "webhook-ingest/tenant_policy.h"

#include "project/project.h"

namespace kiln::webhook {
namespace {

constexpr char kGlobalTenant[] = "*";

// The host of scheme://[user@]host[:port]/..., lower-cased; empty when there is none.
std::string url_host(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return {};
  std::string authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find('/'));
  if (const auto at = authority.rfind('@'); at != std::string::npos) {
    authority = authority.substr(at + 1);
  }
  std::string host;
  if (!authority.empty() && authority.front() == '[') {
    host = authority.substr(1, authority.find(']') - 1);
  } else {
    host = authority.substr(0, authority.find(':'));
  }
  for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host;
}

}  // namespace

bool is_host_local_url(const std::string& url) {
  if (url.rfind("file:", 0) == 0) return true;
  const std::string host = url_host(url);
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1" || host == "0.0.0.0" ||
         host.ends_with(".localhost");
}

Result<TenantPolicy> TenantPolicy::parse(const std::vector<std::string>& image_prefixes,
                                         const std::vector<std::string>& local_source_tenants,
                                         const std::vector<std::string>& server_secret_tenants) {
  TenantPolicy policy;
  for (const auto& entry : image_prefixes) {
    const auto eq = entry.find('=');
    const std::string tenant = entry.substr(0, eq);
    const std::string where = eq == std::string::npos ? "" : entry.substr(eq + 1);
    Prefix prefix{where.substr(0, where.find('/')), ""};
    if (const auto slash = where.find('/'); slash != std::string::npos) {
      prefix.path = where.substr(slash + 1);
      while (!prefix.path.empty() && prefix.path.back() == '/') prefix.path.pop_back();
      if (prefix.path == "*") prefix.path.clear();
    }
    if (tenant.empty() || !project::valid_registry_host(prefix.registry) ||
        (!prefix.path.empty() && !project::valid_repository_path(prefix.path))) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "tenants.image-prefixes: '" + entry + "' is not TENANT=REGISTRY[/REPOSITORY-PREFIX]");
    }
    policy.prefixes_[tenant].push_back(std::move(prefix));
  }
  policy.local_source_tenants_.insert(local_source_tenants.begin(), local_source_tenants.end());
  policy.server_secret_tenants_.insert(server_secret_tenants.begin(), server_secret_tenants.end());
  return policy;
}

std::optional<std::string> TenantPolicy::image_refusal(const std::string& tenant,
                                                       const std::string& registry,
                                                       const std::string& repository) const {
  if (prefixes_.empty() || tenant == kGlobalTenant) return std::nullopt;
  std::string allowed;
  if (auto it = prefixes_.find(tenant); it != prefixes_.end()) {
    for (const auto& prefix : it->second) {
      if (prefix.registry == registry && (prefix.path.empty() || repository == prefix.path ||
                                          repository.rfind(prefix.path + "/", 0) == 0)) {
        return std::nullopt;
      }
      allowed += (allowed.empty() ? "" : ", ") + prefix.registry + "/" +
                 (prefix.path.empty() ? "*" : prefix.path + "/*");
    }
  }
  return "tenant " + tenant + " may not push " + registry + "/" + repository + "; it may push to " +
         (allowed.empty() ? "no registry (tenants.image-prefixes names none for it)" : allowed);
}

std::optional<std::string> TenantPolicy::source_refusal(const std::string& tenant,
                                                        const std::string& repository_url) const {
  if (tenant == kGlobalTenant || !is_host_local_url(repository_url) ||
      local_source_tenants_.count(tenant) > 0) {
    return std::nullopt;
  }
  return "tenant " + tenant + " may not build from " + repository_url +
         ": host-local sources are for the tenants in sources.local-tenants only";
}

std::optional<std::string> TenantPolicy::secret_ref_refusal(const std::string& tenant,
                                                            const std::string& ref) const {
  const bool of_the_server = ref.rfind("env:", 0) == 0 || ref.rfind("file:", 0) == 0;
  if (!of_the_server || tenant == kGlobalTenant || server_secret_tenants_.count(tenant) > 0) {
    return std::nullopt;
  }
  return "tenant " + tenant + " may name secrets of its own store only (store:NAME), not " +
         ref.substr(0, ref.find(':') + 1) +
         " references, which read the server's environment and files (secrets.server-tenants)";
}

}  // namespace kiln::webhook
