// RegistryClient's internals shared by client.cpp, blob_upload.cpp and blob_fetch.cpp: the
// request loop that adds auth, retries and redirects around http.h's single exchange.
#pragma once

#include <string>
#include <vector>

#include "registry/authenticator.h"
#include "registry/client.h"
#include "registry/curl_handle.h"
#include "registry/http.h"

namespace kiln::registry {

struct Call {
  HttpRequest request;
  std::vector<std::string> scopes;  // Bearer scopes this request needs
  bool retry = true;                // retry transient failures inside send()
  bool follow_redirects = false;    // GET only
  bool registry_auth = true;        // add the registry's Authorization (false: token requests)
  std::string what;                 // names the operation in errors and logs
};

struct RegistryClient::Impl {
  explicit Impl(RegistryOptions opts);

  // Runs `call` with auth, retries (when call.retry) and redirects (when follow_redirects).
  // Returns the final response whatever its status; transport errors and cancels as Error.
  Result<HttpResponse> send(Call& call, const TransferControl& control);

  // base_url + "/v2/" + repository + suffix
  std::string repo_url(const std::string& repository, const std::string& suffix) const;
  // `location` (absolute or relative) resolved against `base`; "" when unparsable.
  static std::string resolve(const std::string& base, const std::string& location);
  // `url` with name=value appended to its query (value URL-encoded).
  static std::string with_query(const std::string& url, const std::string& name,
                                const std::string& value);
  // A registry error for a response, with a hint about credentials on 401/403.
  Error error_from(const HttpResponse& response, const std::string& what) const;
  // Delay before retry `attempt` after `response` (Retry-After when present, else backoff).
  std::chrono::milliseconds retry_delay(int attempt, const HttpResponse* response) const;

  RegistryOptions options;
  std::string base_url;
  std::string origin;
  HandlePool pool;
  Authenticator auth;
};

}  // namespace kiln::registry
