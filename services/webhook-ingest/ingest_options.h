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
  std::size_t hook_max_body_bytes = 25u << 20;  // GitHub caps its payloads at 25 MB
  int hook_max_secrets_tried = 16;              // per request on the shared /hooks/<provider>
  std::size_t upload_max_bytes = 256u << 20;
  std::string secrets_key_file;  // seals secrets given to one build; empty: such builds refused
  // tenant_policy.h: where tenants may push (empty: anywhere) and who may build host-local URLs.
  std::vector<std::string> tenant_image_prefixes;
  std::vector<std::string> local_source_tenants = {"default"};
  std::vector<std::string> server_secret_tenants = {"default"};
  std::string secrets_dir;  // the secret store (secrets/secret_store.h); empty: none
};

// A Config for kiln-webhook-ingest with every option bound to a member of `options`.
Config describe(IngestOptions& options);

}  // namespace kiln::webhook
