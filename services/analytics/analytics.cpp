#include "analytics/analytics.h"

#include <iostream>

#include "analytics/rebuild.h"
#include "analytics/static_files.h"
#include "common/log.h"
#include "common/shutdown.h"
#include "service/service.h"
#include "store/store.h"

namespace kiln::analytics {
namespace {

// PostgreSQL may start after us: retry until the migrations apply or shutdown is asked for.
bool migrate_when_reachable(const AnalyticsOptions& options) {
  const auto migrations =
      service::require(store::load_migrations(options.migrations_dir), "migrations");
  bool warned = false;
  while (!shutdown::requested()) {
    try {
      auto connection = store::connect(options.applier.database_url);
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

http::TokenAuth parse_tokens(const std::string& spec) {
  auto auth = service::require(http::TokenAuth::parse(spec), "api.tokens");
  if (auth.empty()) log::warn("api.tokens is empty: every query API request is refused");
  return auth;
}

}  // namespace

Analytics::Analytics(const AnalyticsOptions& options, bus::Bus& bus)
    : options_(options),
      auth_(parse_tokens(options_.api_tokens)),
      server_("analytics", options_.common.http),
      pool_(options_.query_database_url.empty() ? options_.applier.database_url
                                                : options_.query_database_url,
            options_.pool_size),
      applier_(bus, options_.applier, server_.metrics()),
      api_(pool_, bus, auth_, server_.metrics()),
      live_(bus, api_, server_.metrics()) {
  api_.register_routes(server_);
  live_.register_routes(server_);
  if (serve_static_files(server_, options_.web_root)) {
    log::info("serving the dashboard", {{"root", options_.web_root}});
  }
  service::add_nats_readiness(server_, bus);
  server_.add_readiness_check("postgresql", [this] { return pool_.ping(); });
  server_.add_readiness_check("projection", [this] { return applier_.ready(); });
}

void Analytics::start() {
  if (!migrate_when_reachable(options_)) return;  // shutdown asked for while waiting
  started_ = true;
  server_.start();
  applier_.start();
  log::info("analytics ready", {{"http_port", server_.port()}});
}

void Analytics::stop() {
  if (stopped_) return;
  stopped_ = true;
  live_.stop();
  applier_.stop();
  if (started_) server_.stop();
}

int rebuild_and_report(const AnalyticsOptions& options, bus::Bus& bus) {
  if (!migrate_when_reachable(options)) return 0;
  const auto report = rebuild(bus, rebuild_options(options));
  std::cout << "rebuilt " << report.events << " events up to sequence " << report.checkpoint
            << " in " << report.seconds << " s\n";
  return 0;
}

}  // namespace kiln::analytics
