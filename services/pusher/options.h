// The pusher's options, declared in one place with their defaults and help (kiln::Config).
#pragma once

#include <string>
#include <vector>

#include "common/config.h"

namespace kiln::pusher {

inline constexpr int kDefaultHttpPort = 8084;

struct PusherOptions {
  std::string worker_id;                          // the producer field of published events
  int slots = 2;                                  // pushes at once
  std::string artifacts_dir = ".kiln/artifacts";  // layouts outside it are never deleted
  std::vector<std::string> insecure_registries;   // hosts reached over plain HTTP
  std::string docker_config;                      // config.json with credentials; empty: default
  int parallelism = 4;                            // blob transfers at once per push
  int heartbeat_seconds = 5;                      // in-progress acks while pushing (AckWait 30 s)
  // A registry that is unreachable or overloaded (after the client's own retries) is tried again
  // later until the build has waited this long since `built`; then the build fails.
  int retry_window_seconds = 600;
};

void declare_options(Config& config);
// Reads and checks the options; `instance` is the service instance id (the default worker id).
// Throws ConfigError for values out of range.
PusherOptions read_options(const Config& config, const std::string& instance);

}  // namespace kiln::pusher
