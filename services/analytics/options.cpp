#include "analytics/options.h"

#include <algorithm>

namespace kiln::analytics {

Config describe(AnalyticsOptions& o) {
  Config config = service::make_config(
      "kiln-analytics [rebuild]",
      "Event log -> PostgreSQL projections -> query API, live stream, dashboard.", o.common);
  config.accept_arguments();  // `rebuild`
  config
      .bind("database.url", o.applier.database_url,
            "PostgreSQL URL of the role that migrates and writes the projections (a password goes "
            "in a pgpass file named by ?passfile=...)")
      .not_empty();
  config.bind("database.query-url", o.query_database_url,
              "PostgreSQL URL for the query API, which only reads: a read-only role (empty: "
              "database.url)");
  config.bind("database.pool-size", o.pool_size, "PostgreSQL connections for the query API")
      .range(1, 256);
  config.bind("migrations.dir", o.migrations_dir, "Directory of NNN_name.sql migrations")
      .not_empty();
  config.bind("api.tokens", o.api_tokens,
              "Bearer tokens: name:secret:tenant:roles,... (read role queries)");
  config.bind("analytics.batch-size", o.applier.batch_size, "Events applied per transaction")
      .range(1, 100000);
  config.bind("analytics.max-lag", o.applier.max_ready_lag,
              "Readiness fails while more events wait than this");
  config.bind("web.root", o.web_root, "Dashboard files served at / when the directory exists");
  return config;
}

Command command(const Config& parsed) {
  const auto& words = parsed.positional();
  if (words.empty()) return Command::kServe;
  if (words.size() == 1 && words[0] == "rebuild") return Command::kRebuild;
  throw StartupError("unknown command '" + words[0] + "' (only 'rebuild')");
}

RebuildOptions rebuild_options(const AnalyticsOptions& options) {
  return RebuildOptions{.database_url = options.applier.database_url,
                        .migrations_dir = options.migrations_dir,
                        // Rebuilding is one long catch-up: bigger batches than live applying.
                        .batch_size = std::max(2000, options.applier.batch_size)};
}

}  // namespace kiln::analytics
