// kiln-analytics options, declared in one place (see --help):
//   database.url          PostgreSQL URL of the projections
//   database.pool-size    connections for the query API
//   migrations.dir        the migrations applied at start (and replayed by `rebuild`)
//   api.tokens            bearer tokens name:secret:tenant:roles (read role for queries)
//   analytics.batch-size  events fetched and applied per transaction
//   analytics.max-lag     /readyz fails while more events than this wait to be applied
//   web.root              the dashboard's built files, served at / when the directory exists
// plus the common ones (nats.url, http.*, log.level, instance; http.port defaults to 8081).
#pragma once

#include "analytics/applier.h"
#include "analytics/rebuild.h"
#include "common/config.h"

namespace kiln::analytics {

inline constexpr int kDefaultHttpPort = 8081;

void declare_options(Config& config);
ApplierOptions applier_options(const Config& config);
RebuildOptions rebuild_options(const Config& config);

}  // namespace kiln::analytics
