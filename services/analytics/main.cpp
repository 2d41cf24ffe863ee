// kiln-analytics: applies KILN_EVENTS to PostgreSQL projections and serves the query API, the
// live stream and the dashboard. `kiln-analytics rebuild` recreates the projections from the log.
#include <iostream>
#include <thread>

#include "analytics/applier.h"
#include "analytics/db_pool.h"
#include "analytics/live_stream.h"
#include "analytics/options.h"
#include "analytics/query_api.h"
#include "analytics/rebuild.h"
#include "analytics/static_files.h"
#include "common/log.h"
#include "common/shutdown.h"
#include "http/auth.h"
#include "service/service.h"
#include "store/store.h"

namespace {

using namespace kiln;

// PostgreSQL may start after us: retry the migrations until they apply or shutdown is asked for.
bool migrate_when_reachable(const Config& config) {
  const auto migrations = store::load_migrations(config.get("migrations.dir"));
  bool warned = false;
  while (!shutdown::requested()) {
    try {
      auto connection = store::connect(config.get("database.url"));
      const int applied = store::migrate(*connection, migrations);
      log::info("migrations applied", {{"applied", applied}});
      return true;
    } catch (const pqxx::broken_connection& e) {
      if (!warned) log::warn("PostgreSQL not reachable yet; retrying", {{"error", e.what()}});
      warned = true;
      shutdown::wait_for(std::chrono::seconds(1));
    }
  }
  return false;
}

int analytics_main(int argc, char** argv) {
  Config config("kiln-analytics [rebuild]",
                "Event log -> PostgreSQL projections -> query API, live stream, dashboard.");
  analytics::declare_options(config);
  if (!config.parse(argc, argv)) return 0;
  const bool rebuild = !config.positional().empty() && config.positional()[0] == "rebuild";
  if (!config.positional().empty() && !rebuild) {
    throw ConfigError("unknown command '" + config.positional()[0] + "' (only 'rebuild')");
  }
  const std::string instance = service::init_logging(config, "analytics");
  shutdown::install();
  auto bus = service::connect_bus(config, instance);
  if (!bus || !migrate_when_reachable(config)) return 0;

  if (rebuild) {
    const auto report = analytics::rebuild(*bus, analytics::rebuild_options(config));
    std::cout << "rebuilt " << report.events << " events up to sequence " << report.checkpoint
              << " in " << report.seconds << " s\n";
    return 0;
  }

  auto auth = http::TokenAuth::parse(config.get("api.tokens"));
  if (!auth.ok()) throw ConfigError(auth.error().message);
  if (auth->empty()) log::warn("api.tokens is empty: every query API request is refused");

  http::Server server("analytics", service::http_options(config));
  analytics::DbPool pool(config.get("database.url"),
                         static_cast<int>(config.get_int("database.pool-size")));
  analytics::Applier applier(*bus, analytics::applier_options(config), server.metrics());
  analytics::QueryApi api(pool, *bus, *auth, server.metrics());
  analytics::LiveStream live(*bus, api, server.metrics());
  api.register_routes(server);
  live.register_routes(server);
  if (analytics::serve_static_files(server, config.get("web.root"))) {
    log::info("serving the dashboard", {{"root", config.get("web.root")}});
  }
  service::add_nats_readiness(server, *bus);
  server.add_readiness_check("postgresql", [&pool] { return pool.ping(); });
  server.add_readiness_check("projection", [&applier] { return applier.ready(); });

  server.start();
  applier.start();
  shutdown::wait();
  log::info("shutting down");
  live.stop();
  applier.stop();
  server.stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return kiln::service::run(argc, argv, analytics_main); }
