// The builder's options, declared in one place with their defaults and help (kiln::Config).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/config.h"

namespace kiln::builder {

inline constexpr int kDefaultHttpPort = 8083;

struct BuilderOptions {
  std::string worker_id;                       // in `started` events and the producer field
  int slots = 1;                               // builds at once
  std::string buildah_root = ".kiln/buildah";  // uses <root>/root and <root>/run, vfs driver
  std::string artifacts_dir = ".kiln/artifacts";
  std::string work_dir = ".kiln/work";
  std::vector<std::string> insecure_registries = {"127.0.0.1:5000", "localhost:5000"};
  int timeout_seconds = 3600;
  std::int64_t cache_max_bytes = 10LL << 30;
  // Build secrets: id -> value (read from the named environment variable at start-up).
  std::map<std::string, std::string> secrets;
  // Git credentials: host -> "user:token" for http(s) URLs.
  std::map<std::string, std::string> git_credentials;
  std::string git_ssh_key;    // private key file for ssh:// URLs
  int heartbeat_seconds = 5;  // in-progress acks while working (AckWait is 30 s)
  std::string platform;       // the host's, e.g. linux/amd64 (detected when empty)
};

void declare_options(Config& config);
// Reads the options; `instance` is the service instance id (the default worker id). Throws
// ConfigError for malformed values or a secret whose environment variable is unset.
BuilderOptions read_options(const Config& config, const std::string& instance);

// "a=B,c=D" into a map; ConfigError naming `option` when an entry has no '='.
std::map<std::string, std::string> parse_pairs(const std::string& text, const std::string& option);

}  // namespace kiln::builder
