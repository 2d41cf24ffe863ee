// The operator's secret store: files under `secrets.dir`, one directory per tenant,
// `<secrets.dir>/<tenant>/<name>`. Projects name what they need (`secrets: [name]` for RUN
// steps, `git_credentials_ref` / `git_ssh_key_ref` / `webhook_secret_ref` as `store:<name>`), so a
// tenant reaches its own directory and nothing else of the server: names are plain ids, never
// paths. webhook-ingest reads webhook secrets from it; builders read build secrets and Git
// credentials.
//
// Errors: Result (kFailedPrecondition without a store, kInvalidArgument for a bad name,
// kNotFound for a secret that is not there).
#pragma once

#include <optional>
#include <string>

#include "common/result.h"

namespace kiln::secrets {

inline constexpr char kStoreRefPrefix[] = "store:";

// The NAME of a `store:NAME` reference; nullopt for any other form.
std::optional<std::string> store_ref_name(const std::string& ref);

class SecretStore {
 public:
  explicit SecretStore(std::string dir) : dir_(std::move(dir)) {}

  bool configured() const { return !dir_.empty(); }
  // Where `name` of `tenant` lives (after the names are checked).
  Result<std::string> path(const std::string& tenant, const std::string& name) const;
  // The file's content, a trailing newline removed.
  Result<std::string> read(const std::string& tenant, const std::string& name) const;

 private:
  std::string dir_;
};

}  // namespace kiln::secrets
