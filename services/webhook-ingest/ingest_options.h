// webhook-ingest's options: each member's initialiser is its default; describe() names, explains
// and bounds them once for --help, docs/configuration.md and the checks at start-up.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/config.h"
#include "service/service.h"

namespace kiln::webhook {

inline constexpr int kDefaultHttpPort = 8080;

struct IngestOptions {
  service::CommonOptions common{kDefaultHttpPort};
  std::string api_tokens;                                    // see http/auth.h
  std::string default_registry = service::kDefaultRegistry;  // for those that name none
  std::vector<std::string> allowed_registries;               // a manual build may also choose these
  int publish_timeout_ms = 3000;
  std::size_t hook_max_body_bytes = 25u << 20;
  std::size_t upload_max_bytes = 256u << 20;
};

// A Config for kiln-webhook-ingest with every option bound to a member of `options`.
Config describe(IngestOptions& options);

}  // namespace kiln::webhook
