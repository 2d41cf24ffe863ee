// Bearer-token authorisation shared by the command API (webhook-ingest) and the query API
// (analytics). Tokens come from configuration, never from the event log:
//   api.tokens = name:secret:tenant:role[+role]...,name2:...
// Roles: read (query), build (start/cancel/retry builds), admin (projects, every tenant).
// A request without a token is 401; a token without the role or outside its tenant is 403.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "http/server.h"

namespace kiln::http {

struct Principal {
  std::string name;  // the token's name: the actor recorded in events
  std::string tenant;
  bool read = false;
  bool build = false;
  bool admin = false;
};

enum class Role { kRead, kBuild, kAdmin };

class TokenAuth {
 public:
  // Parses the api.tokens format; an empty spec allows nobody.
  static Result<TokenAuth> parse(const std::string& spec);

  // The caller of `request`, or throws HttpError 401/403 (JSON body by the server).
  Principal require(const Request& request, Role role) const;
  // Throws 403 unless the principal may act in `tenant`.
  static void require_tenant(const Principal& principal, const std::string& tenant);

  bool empty() const { return tokens_.empty(); }

 private:
  std::vector<std::pair<std::string, Principal>> tokens_;  // secret -> principal
};

}  // namespace kiln::http
