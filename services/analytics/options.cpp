#include "analytics/options.h"

#include "service/service.h"

namespace kiln::analytics {

void declare_options(Config& config) {
  service::add_common_options(config, kDefaultHttpPort);
  config.option("database.url", "postgresql://postgres@127.0.0.1:5432/kiln", "PostgreSQL URL")
      .option("database.pool-size", "8", "PostgreSQL connections for the query API")
      .option("migrations.dir", "migrations", "Directory of NNN_name.sql migrations")
      .option("api.tokens", "", "Bearer tokens: name:secret:tenant:roles,... (read role queries)")
      .option("analytics.batch-size", "500", "Events applied per transaction")
      .option("analytics.max-lag", "10000", "Readiness fails while more events wait than this")
      .option("web.root", "web/dist", "Dashboard files served at / when the directory exists");
}

ApplierOptions applier_options(const Config& config) {
  ApplierOptions options;
  options.database_url = config.get("database.url");
  options.batch_size = static_cast<int>(config.get_int("analytics.batch-size"));
  if (options.batch_size < 1) throw ConfigError("analytics.batch-size must be at least 1");
  options.max_ready_lag = static_cast<std::uint64_t>(config.get_int("analytics.max-lag"));
  return options;
}

RebuildOptions rebuild_options(const Config& config) {
  RebuildOptions options;
  options.database_url = config.get("database.url");
  options.migrations_dir = config.get("migrations.dir");
  options.batch_size = std::max(2000, static_cast<int>(config.get_int("analytics.batch-size")));
  return options;
}

}  // namespace kiln::analytics
