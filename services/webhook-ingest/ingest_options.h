// webhook-ingest's own options (beside service::add_common_options), declared and documented
// in one place.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/config.h"

namespace kiln::webhook {

struct IngestOptions {
  std::string api_tokens;                           // api.tokens (see http/auth.h)
  std::string default_registry = "127.0.0.1:5000";  // registry.default
  std::vector<std::string> allowed_registries;      // registry.allowed
  int publish_timeout_ms = 3000;                    // webhook.publish-timeout-ms
  std::size_t hook_max_body_bytes = 25u << 20;      // webhook.max-body-bytes
  std::size_t upload_max_bytes = 256u << 20;        // uploads.max-bytes
  std::string producer = "webhook-ingest";          // envelope producer (service/instance)
};

void add_ingest_options(Config& config);
// Throws ConfigError for values out of range.
IngestOptions read_ingest_options(const Config& config, const std::string& instance);

}  // namespace kiln::webhook
