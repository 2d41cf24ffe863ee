#include "webhook-ingest/ingest_options.h"

#include "common/strings.h"

namespace kiln::webhook {

void add_ingest_options(Config& config) {
  config
      .option("api.tokens", "",
              "Command API bearer tokens: name:secret:tenant:role[+role],... with roles read, "
              "build, admin (tenant * with admin: every tenant). Empty: the API refuses everyone")
      .option("registry.default", "127.0.0.1:5000",
              "Registry host[:port] for projects and uploaded builds that name none")
      .option("registry.allowed", "",
              "Comma-separated registries a manual build may choose besides the default and the "
              "project's own")
      .option("webhook.publish-timeout-ms", "3000",
              "How long a request waits for the JetStream ack before answering 503 (Git hosts "
              "give up after 10 s)")
      .option("webhook.max-body-bytes", std::to_string(25u << 20),
              "Largest webhook body accepted (413 beyond it)")
      .option("uploads.max-bytes", std::to_string(256u << 20),
              "Largest build context accepted by POST /v1/uploads (413 beyond it)");
}

IngestOptions read_ingest_options(const Config& config, const std::string& instance) {
  IngestOptions options;
  options.api_tokens = config.get("api.tokens");
  options.default_registry = config.get("registry.default");
  options.allowed_registries = split_list(config.get("registry.allowed"), ListItems::kAsWritten);
  const long long timeout = config.get_int("webhook.publish-timeout-ms");
  if (timeout < 100 || timeout > 9000) {
    throw ConfigError("webhook.publish-timeout-ms must be between 100 and 9000");
  }
  options.publish_timeout_ms = static_cast<int>(timeout);
  const long long hook_limit = config.get_int("webhook.max-body-bytes");
  const long long upload_limit = config.get_int("uploads.max-bytes");
  if (hook_limit < 1024 || upload_limit < 1024) {
    throw ConfigError("webhook.max-body-bytes and uploads.max-bytes must be at least 1024");
  }
  options.hook_max_body_bytes = static_cast<std::size_t>(hook_limit);
  options.upload_max_bytes = static_cast<std::size_t>(upload_limit);
  options.producer = instance;
  return options;
}

}  // namespace kiln::webhook
