// Parsing for registry authentication: WWW-Authenticate challenges (RFC 7235 syntax, as the
// distribution spec uses it) and token-endpoint responses.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kiln::registry {

struct AuthChallenge {
  std::string scheme;                         // lower case: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lower case, values unquoted

  // The value of `name` (lower case), or "".
  std::string param(std::string_view name) const;
};

// Every challenge in a WWW-Authenticate value, e.g.
//   Bearer
//   realm="https://auth.example/token",service="registry.example",scope="repository:a:pull,push"
// Quoted values may contain commas and backslash escapes. Malformed trailing text is ignored.
std::vector<AuthChallenge> parse_www_authenticate(std::string_view header);

// "repository:<name>:<actions>"
std::string repository_scope(std::string_view repository, std::string_view actions = "pull,push");

struct BearerToken {
  std::string token;
  std::chrono::seconds expires_in{60};  // the spec's default when the response has none
};

// A token endpoint's JSON: {"token": "...", "access_token": "...", "expires_in": 300}. "token"
// wins over "access_token"; expires_in < 1 or absent means 60 s. kInvalidArgument when neither
// token field is present.
Result<BearerToken> parse_token_response(std::string_view body);

}  // namespace kiln::registry
