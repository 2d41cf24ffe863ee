#include "secrets/secret_store.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "secrets/build_secrets.h"

namespace kiln::secrets {
namespace {

bool valid_tenant(const std::string& tenant) {
  return !tenant.empty() && tenant.size() <= 64 && tenant != "." && tenant != ".." &&
         std::all_of(tenant.begin(), tenant.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
         });
}

}  // namespace

std::optional<std::string> store_ref_name(const std::string& ref) {
  if (ref.rfind(kStoreRefPrefix, 0) != 0) return std::nullopt;
  return ref.substr(sizeof kStoreRefPrefix - 1);
}

Result<std::string> SecretStore::path(const std::string& tenant, const std::string& name) const {
  if (!configured()) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "secret " + name + ": no secret store here (secrets.dir is not set)");
  }
  if (!valid_tenant(tenant)) {
    return make_error(ErrorCode::kInvalidArgument, "tenant '" + tenant + "' has no secret store");
  }
  if (!valid_secret_id(name)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "'" + name + "' is not a secret name (letters, digits, '_', '-')");
  }
  return dir_ + "/" + tenant + "/" + name;
}

Result<std::string> SecretStore::read(const std::string& tenant, const std::string& name) const {
  auto file = path(tenant, name);
  if (!file.ok()) return file.error();
  std::ifstream in(*file, std::ios::binary);
  if (!in) {
    return make_error(ErrorCode::kNotFound, "secret " + name + " is not in tenant " + tenant +
                                                "'s store (" + *file + ")");
  }
  std::stringstream content;
  content << in.rdbuf();
  std::string value = content.str();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  return value;
}

}  // namespace kiln::secrets
