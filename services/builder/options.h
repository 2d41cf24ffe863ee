// The builder's options: each member's initialiser is its default; describe() names, explains
// and bounds them once for --help, docs/configuration.md and the checks at start-up.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "builder/shared_cache.h"
#include "common/config.h"
#include "registry/staging.h"
#include "service/service.h"

namespace kiln::builder {

inline constexpr int kDefaultHttpPort = 8083;

struct BuilderOptions {
  service::CommonOptions common{kDefaultHttpPort};
  std::string worker_id;                       // in `started` events; empty: the instance id
  int slots = 1;                               // builds at once
  std::string buildah_root = ".kiln/buildah";  // uses <root>/root and <root>/run, vfs driver
  std::string artifacts_dir = service::kDefaultArtifactsDir;
  std::string work_dir = ".kiln/work";
  int artifacts_max_age_hours = 24;  // a layout no pusher took is removed after this (0: never)
  std::vector<std::string> insecure_registries = service::kDefaultInsecureRegistries;
  registry::StagingOptions staging;  // where built images are left for the pushers
  int timeout_seconds = 3600;
  std::int64_t log_max_bytes = 10LL << 20;  // an attempt's stored log text; 0: no cap
  std::int64_t cache_max_bytes = 10LL << 30;
  SharedCacheOptions shared_cache;  // on staging.registry
  // Build secrets: id -> value. `secret_variables` ("id=ENVVAR,...") adds the values of those
  // environment variables when the builder is constructed.
  std::map<std::string, std::string> secrets;
  std::vector<std::string> secret_variables;
  // Opens the secrets given to one build (kiln build --secret); empty: such builds fail.
  std::string secrets_key_file;
  // The secret store (secrets/secret_store.h): projects' build secrets and Git credentials.
  std::string secrets_dir;
  // Git credentials: host -> "user:token" for http(s) URLs; `git_credential_variables`
  // ("host=ENVVAR,...") adds them from the environment the same way.
  std::map<std::string, std::string> git_credentials;
  std::vector<std::string> git_credential_variables;
  std::string git_ssh_key;    // private key file for ssh:// URLs
  int heartbeat_seconds = 5;  // in-progress acks while working (AckWait is 30 s)
  std::string platform;       // e.g. linux/amd64; empty: the host's
  // CIDRs RUN steps with network never reach, besides the host (build_network.h).
  std::vector<std::string> network_blocked;
};

// A Config for kiln-builder with every option bound to a member of `options`.
Config describe(BuilderOptions& options);

// Fills in what is derived at start-up: the worker id (from the instance id), the platform (the
// host's) and the secrets and credentials named by environment variables. Throws StartupError for
// a malformed pair or an unset variable.
BuilderOptions resolve(BuilderOptions options);

}  // namespace kiln::builder
