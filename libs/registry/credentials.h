// Registry credentials and where they come from: the environment and Docker's config.json.
// Credentials are never logged; Credentials::describe() names the user only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kiln::registry {

struct Credentials {
  std::string username;
  std::string password;

  bool empty() const { return username.empty() && password.empty(); }
  // "user 'alice'" or "anonymous": for messages and logs (never the password).
  std::string describe() const;
};

// Environment variables read by credentials_from_env().
inline constexpr const char* kEnvUsername = "KILN_REGISTRY_USERNAME";
inline constexpr const char* kEnvPassword = "KILN_REGISTRY_PASSWORD";

// KILN_REGISTRY_USERNAME / KILN_REGISTRY_PASSWORD when the username is set and non-empty.
std::optional<Credentials> credentials_from_env();

// Looks up `host` ("registry.example.com", "127.0.0.1:5000") in the text of a Docker config.json:
//   {"auths": {"<host>": {"auth": "<base64 of user:password>"}}}
// Keys may carry a scheme and a path ("https://host/v1/"); Docker Hub's aliases match each other.
// An entry with "username"/"password" fields instead of "auth" is accepted too. nullopt when
// there is no entry for the host (or the entry only names a credential helper, which kiln does
// not run); kInvalidArgument when the JSON or the base64 is malformed.
Result<std::optional<Credentials>> credentials_from_docker_config(std::string_view json,
                                                                  std::string_view host);

// Reads the file at `path` and calls credentials_from_docker_config. A missing file is nullopt.
Result<std::optional<Credentials>> load_docker_config(const std::string& path,
                                                      std::string_view host);

// Credentials for `host`, first match wins: the environment; the config.json at
// `docker_config_path` when given; else $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json.
// Empty credentials (anonymous) when nothing matches.
Result<Credentials> resolve_credentials(std::string_view host,
                                        const std::string& docker_config_path = {});

// base64 helpers shared with the auth code.
std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace kiln::registry
