#include "webhook-ingest/ingest_options.h"

namespace kiln::webhook {

Config describe(IngestOptions& o) {
  Config config = service::make_config(
      "kiln-webhook-ingest",
      "Receives GitHub, GitLab and Gitea/Forgejo push webhooks and the command API, and publishes "
      "build requests to NATS JetStream.",
      o.common);
  config.bind("api.tokens", o.api_tokens,
              "Command API bearer tokens: name:secret:tenant:role[+role],... with roles read, "
              "build, admin (tenant * with admin: every tenant). Empty: the API refuses everyone");
  config
      .bind("registry.default", o.default_registry,
            "Registry host[:port] for projects and uploaded builds that name none")
      .not_empty();
  config.bind("registry.allowed", o.allowed_registries,
              "Comma-separated registries a manual build may choose besides the default and the "
              "project's own");
  config
      .bind("webhook.publish-timeout-ms", o.publish_timeout_ms,
            "How long a request waits for the JetStream ack before answering 503 (Git hosts give "
            "up after 10 s)")
      .range(100, 9000);
  config
      .bind("webhook.max-body-bytes", o.hook_max_body_bytes,
            "Largest webhook body accepted (413 beyond it)")
      .at_least(1024);
  config
      .bind("uploads.max-bytes", o.upload_max_bytes,
            "Largest build context accepted by POST /v1/uploads (413 beyond it)")
      .at_least(1024);
  return config;
}

}  // namespace kiln::webhook
