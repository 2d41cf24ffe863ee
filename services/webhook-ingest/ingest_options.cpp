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
      .bind("webhook.max-secrets-tried", o.hook_max_secrets_tried,
            "Most project secrets one request to the shared /hooks/<provider> URL is checked "
            "against (projects whose repository the body names); past it 401, and the "
            "per-project URL /hooks/<provider>/<project> checks exactly one")
      .range(1, 10000);
  config
      .bind("uploads.max-bytes", o.upload_max_bytes,
            "Largest build context accepted by POST /v1/uploads (413 beyond it)")
      .at_least(1024);
  config.bind("tenants.image-prefixes", o.tenant_image_prefixes,
              "Where each tenant may push, as TENANT=REGISTRY[/REPOSITORY-PREFIX],... (a tenant "
              "may be listed more than once); a build or project outside gets 403. Empty: no "
              "tenant is held to a prefix");
  config.bind("sources.local-tenants", o.local_source_tenants,
              "Tenants whose projects may build from file:// or loopback repository URLs, which "
              "only the server can read");
  config.bind("secrets.server-tenants", o.server_secret_tenants,
              "Tenants whose projects may name the server's environment variables and files "
              "(env:, file:) as webhook secrets; the others name their store (store:NAME)");
  config.bind("secrets.dir", o.secrets_dir,
              "The secret store: <dir>/<tenant>/<name>, read for store:NAME webhook secrets "
              "(builders read build secrets and Git credentials from the same layout)");
  config.bind("secrets.key-file", o.secrets_key_file,
              "Key (64 hex digits, mode 0600) that seals the secrets given to one build "
              "(POST /v1/builds \"secrets\", kiln build --secret) while they wait for a builder; "
              "the builders need the same file. Empty: builds given secrets are refused");
  return config;
}

}  // namespace kiln::webhook
