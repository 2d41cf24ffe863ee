// Per-client authentication state: which scheme the registry asked for (learned from the first
// 401), the Basic header, and Bearer tokens cached per scope set until shortly before they
// expire. Thread-safe. Internal to libs/registry.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "registry/http.h"
#include "registry/options.h"

namespace kiln::registry {

class Authenticator {
 public:
  // Performs a GET of `url` with the given header lines (used for the token endpoint).
  using Fetch = std::function<Result<HttpResponse>(const std::string& url,
                                                   const std::vector<std::string>& headers)>;

  Authenticator(const RegistryOptions& options, Fetch fetch);

  // The "Authorization: ..." line for a request to the registry needing `scopes`, or "" when no
  // challenge has been seen yet (anonymous until the registry asks). May fetch a token.
  Result<std::string> header_for(const std::vector<std::string>& scopes);

  // Called on a 401 from the registry to a request sent with header line `sent` (maybe "").
  // Learns the challenge and drops a rejected token. true = send the request again; false = the
  // 401 stands (no credentials, or these credentials were just refused).
  Result<bool> on_unauthorized(const std::string& www_authenticate,
                               const std::vector<std::string>& scopes, const std::string& sent);

 private:
  enum class Scheme { kUnknown, kBasic, kBearer };
  struct CachedToken {
    std::string header;
    std::chrono::steady_clock::time_point refresh_at;
  };
  Result<CachedToken> fetch_token(const std::vector<std::string>& scopes);

  const RegistryOptions& options_;
  Fetch fetch_;
  std::mutex mutex_;
  Scheme scheme_ = Scheme::kUnknown;
  std::string realm_;
  std::string service_;
  std::map<std::string, CachedToken> tokens_;  // key: scopes joined by ' '
};

}  // namespace kiln::registry
