#include "registry/authenticator.h"

#include <algorithm>

#include "common/log.h"
#include "registry/auth.h"
#include "registry/curl_handle.h"
#include "registry/errors.h"

namespace kiln::registry {
namespace {

std::string scope_key(const std::vector<std::string>& scopes) {
  std::string key;
  for (const auto& s : scopes) key += (key.empty() ? "" : " ") + s;
  return key;
}

std::string basic_header(const Credentials& c) {
  return "Authorization: Basic " + base64_encode(c.username + ":" + c.password);
}

}  // namespace

Authenticator::Authenticator(const RegistryOptions& options, Fetch fetch)
    : options_(options), fetch_(std::move(fetch)) {}

Result<std::string> Authenticator::header_for(const std::vector<std::string>& scopes) {
  std::lock_guard lock(mutex_);
  switch (scheme_) {
    case Scheme::kUnknown:
      return std::string();
    case Scheme::kBasic:
      return options_.credentials.empty() ? std::string() : basic_header(options_.credentials);
    case Scheme::kBearer:
      break;
  }
  const std::string key = scope_key(scopes);
  auto it = tokens_.find(key);
  if (it != tokens_.end() && std::chrono::steady_clock::now() < it->second.refresh_at) {
    return it->second.header;
  }
  auto token = fetch_token(scopes);
  if (!token) return token.error();
  tokens_[key] = *token;
  return token->header;
}

Result<bool> Authenticator::on_unauthorized(const std::string& www_authenticate,
                                            const std::vector<std::string>& scopes,
                                            const std::string& sent) {
  const auto challenges = parse_www_authenticate(www_authenticate);
  const AuthChallenge* bearer = nullptr;
  const AuthChallenge* basic = nullptr;
  for (const auto& c : challenges) {
    if (c.scheme == "bearer" && bearer == nullptr) bearer = &c;
    if (c.scheme == "basic" && basic == nullptr) basic = &c;
  }
  std::lock_guard lock(mutex_);
  if (bearer != nullptr && !bearer->param("realm").empty()) {
    const std::string realm = bearer->param("realm");
    if (realm.rfind("https://", 0) != 0 && realm.rfind("http://", 0) != 0) {
      return make_error(ErrorCode::kFailedPrecondition,
                        "registry " + options_.host + " names an unusable token realm");
    }
    scheme_ = Scheme::kBearer;
    realm_ = realm;
    service_ = bearer->param("service");
    const bool sent_bearer = sent.rfind("Authorization: Bearer ", 0) == 0;
    if (sent_bearer) {
      // The token was refused (expired or revoked early): fetch a fresh one once.
      // (If another thread already replaced it, the retry simply uses the newer one.)
      auto it = tokens_.find(scope_key(scopes));
      if (it != tokens_.end() && it->second.header == sent) {
        tokens_.erase(it);
        log::debug("registry token refused, refreshing", {{"host", options_.host}});
      }
    }
    return true;
  }
  if (basic != nullptr) {
    scheme_ = Scheme::kBasic;
    if (options_.credentials.empty()) return false;
    return sent.rfind("Authorization: Basic ", 0) != 0;
  }
  return false;
}

Result<Authenticator::CachedToken> Authenticator::fetch_token(
    const std::vector<std::string>& scopes) {
  // Called with mutex_ held: concurrent requests for the same scope wait for one fetch.
  if (realm_.rfind("http://", 0) == 0 && !options_.insecure && !options_.credentials.empty()) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "refusing to send credentials for " + options_.host +
                          " to a plain-http token realm (" + realm_ +
                          "); configure the registry as insecure to allow it");
  }
  CurlUrl url;
  if (!url.set_url(realm_)) {
    return make_error(ErrorCode::kFailedPrecondition, "bad token realm URL: " + realm_);
  }
  if (!service_.empty()) url.append_query("service", service_);
  for (const auto& s : scopes) url.append_query("scope", s);
  std::vector<std::string> headers = {"Accept: application/json"};
  if (!options_.credentials.empty()) headers.push_back(basic_header(options_.credentials));

  const auto started = std::chrono::steady_clock::now();
  auto response = fetch_(url.url(), headers);
  if (!response) return response.error();
  const std::string what = "token request to " + url_for_log(realm_) + " for " +
                           options_.credentials.describe() + " (" + scope_key(scopes) + ")";
  if (response->status != 200) {
    Error e = registry_error(response->status, response->body, what);
    if (response->status == 401 || response->status == 403) {
      e.message += options_.credentials.empty()
                       ? "; no credentials are configured for " + options_.host
                       : "; the credentials were refused";
    }
    return e;
  }
  auto token = parse_token_response(response->body);
  if (!token) return make_error(ErrorCode::kUnavailable, what + ": " + token.error().message);
  // Refresh a little before the token expires: a quarter of its life, at most 30 s early.
  const auto margin = std::min<std::chrono::milliseconds>(
      std::chrono::duration_cast<std::chrono::milliseconds>(token->expires_in) / 4,
      std::chrono::seconds(30));
  log::debug("registry token issued",
             {{"host", options_.host}, {"expires_in_s", token->expires_in.count()}});
  return CachedToken{"Authorization: Bearer " + token->token, started + token->expires_in - margin};
}

}  // namespace kiln::registry
