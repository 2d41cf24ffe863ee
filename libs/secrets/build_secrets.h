// Secrets given to one build (`kiln build --secret id=NAME,src=FILE`). They must reach the build's
// RUN steps and nothing else: not the event log (replayed and kept for years), not the context,
// not the build arguments. webhook-ingest seals each value (sealing_key.h) into the bucket
// kiln_build_secrets under `<build id>.<secret id>` before it publishes `requested`, whose spec
// names only the ids; the builder opens them for its RUN --mount=type=secret files and purges
// them once the build's outcome is stored. The bucket's one-day TTL removes what a build that
// never reached a builder leaves.
//
// Errors: Result (the bus; a value that does not open). A secret that is not there is nullopt.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "bus/kv.h"
#include "common/result.h"
#include "secrets/sealing_key.h"

namespace kiln::secrets {

inline constexpr std::size_t kMaxBuildSecrets = 16;
inline constexpr std::size_t kMaxBuildSecretBytes = 64 * 1024;

// A secret id as buildah's --secret and RUN --mount=type=secret,id=... take it: letters, digits,
// '_', '-', at most 64 characters.
bool valid_secret_id(const std::string& id);

class BuildSecrets {
 public:
  static Result<std::unique_ptr<BuildSecrets>> open(bus::Bus& bus, SealingKey key);

  Status put(const std::string& build_id, const std::string& secret_id, const std::string& value);
  Result<std::optional<std::string>> get(const std::string& build_id, const std::string& secret_id);
  // Every id of `secret_ids`; the first error is returned after trying them all.
  Status purge(const std::string& build_id, const std::vector<std::string>& secret_ids);

 private:
  BuildSecrets(std::unique_ptr<bus::KeyValue> bucket, SealingKey key)
      : bucket_(std::move(bucket)), key_(key) {}
  std::unique_ptr<bus::KeyValue> bucket_;
  SealingKey key_;
};

}  // namespace kiln::secrets
