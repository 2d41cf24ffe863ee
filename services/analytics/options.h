// kiln-analytics options: each member's initialiser is its default; describe() names, explains
// and bounds them once for --help, docs/configuration.md and the checks at start-up.
#pragma once

#include <string>

#include "analytics/applier.h"
#include "analytics/rebuild.h"
#include "common/config.h"
#include "service/service.h"

namespace kiln::analytics {

inline constexpr int kDefaultHttpPort = 8081;

struct AnalyticsOptions {
  service::CommonOptions common{kDefaultHttpPort};
  // database.url lives in `applier` (handed to it as is): the role that migrates and writes.
  ApplierOptions applier{.database_url = "postgresql://postgres@127.0.0.1:5432/kiln"};
  // The query API's pool, which only reads: a read-only role's URL (empty: database.url).
  std::string query_database_url;
  int pool_size = 8;                          // PostgreSQL connections for the query API
  std::string migrations_dir = "migrations";  // applied at start, replayed by `rebuild`
  std::string api_tokens;                     // see http/auth.h; read role for queries
  std::string web_root = "web/dist";          // the dashboard, served at / when it exists
};

// A Config for kiln-analytics with every option bound to a member of `options`.
Config describe(AnalyticsOptions& options);

// `kiln-analytics` serves; `kiln-analytics rebuild` recreates the projections from the log and
// exits. Throws StartupError for any other command.
enum class Command { kServe, kRebuild };
Command command(const Config& parsed);

// What `rebuild` uses of the options.
RebuildOptions rebuild_options(const AnalyticsOptions& options);

}  // namespace kiln::analytics
