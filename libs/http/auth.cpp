#include "http/auth.h"

#include <sstream>

#include "common/ids.h"
#include "common/strings.h"

namespace kiln::http {

Result<TokenAuth> TokenAuth::parse(const std::string& spec) {
  TokenAuth auth;
  for (const std::string& entry : split_list(spec, ListItems::kAsWritten)) {
    std::vector<std::string> parts;
    std::stringstream fields(entry);
    std::string part;
    while (std::getline(fields, part, ':')) parts.push_back(part);
    if (parts.size() != 4 || parts[0].empty() || parts[1].size() < 8 || parts[2].empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "api.tokens: each entry is name:secret:tenant:roles with a secret of at "
                        "least 8 characters (entry for '" +
                            (parts.empty() ? "" : parts[0]) + "')");
    }
    Principal p{parts[0], parts[2]};
    std::stringstream roles(parts[3]);
    std::string role;
    while (std::getline(roles, role, '+')) {
      if (role == "read") {
        p.read = true;
      } else if (role == "build") {
        p.build = p.read = true;
      } else if (role == "admin") {
        p.admin = p.build = p.read = true;
      } else {
        return make_error(ErrorCode::kInvalidArgument,
                          "api.tokens: unknown role '" + role + "' for token " + parts[0]);
      }
    }
    auth.tokens_.emplace_back(parts[1], p);
  }
  return auth;
}

Principal TokenAuth::require(const Request& request, Role role) const {
  const std::string header = request.header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0) {
    throw HttpError(401, "unauthenticated", "missing 'Authorization: Bearer <token>' header");
  }
  const std::string_view secret = std::string_view(header).substr(kBearer.size());
  const Principal* found = nullptr;
  for (const auto& [token, principal] : tokens_) {
    // Every token is compared, so the time taken does not tell which one nearly matched.
    if (constant_time_equals(token, secret) && found == nullptr) found = &principal;
  }
  if (found == nullptr) throw HttpError(401, "unauthenticated", "unknown token");
  const bool allowed = (role == Role::kRead && found->read) ||
                       (role == Role::kBuild && found->build) ||
                       (role == Role::kAdmin && found->admin);
  if (!allowed) {
    const char* name = role == Role::kRead ? "read" : role == Role::kBuild ? "build" : "admin";
    throw HttpError(403, "forbidden", "token '" + found->name + "' lacks the " + name + " role");
  }
  return *found;
}

// A token of tenant "*" with the admin role acts in every tenant.
void TokenAuth::require_tenant(const Principal& principal, const std::string& tenant) {
  if (principal.admin && principal.tenant == "*") return;
  if (principal.tenant != tenant) {
    throw HttpError(403, "forbidden",
                    "token '" + principal.name + "' may not act in tenant '" + tenant + "'");
  }
}

}  // namespace kiln::http
