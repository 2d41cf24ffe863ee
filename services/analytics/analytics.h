// kiln-analytics assembled: migrations, the applier (event log -> projections), the query API,
// live streams and the dashboard on one HTTP server. main() and the integration tests construct
// it the same way. `kiln-analytics rebuild` runs rebuild_and_report() instead.
#pragma once

#include "analytics/applier.h"
#include "analytics/db_pool.h"
#include "analytics/live_stream.h"
#include "analytics/options.h"
#include "analytics/query_api.h"
#include "bus/bus.h"
#include "http/auth.h"
#include "http/server.h"

namespace kiln::analytics {

class Analytics {
 public:
  // Throws StartupError when api.tokens is invalid. `bus` must outlive this object.
  Analytics(const AnalyticsOptions& options, bus::Bus& bus);
  ~Analytics() { stop(); }
  Analytics(const Analytics&) = delete;
  Analytics& operator=(const Analytics&) = delete;

  // Applies the migrations (waiting for PostgreSQL until shutdown is asked for), then starts the
  // applier and the HTTP server; throws StartupError for a broken migrations directory.
  void start();
  // Closes live streams, stops applying and serving. Idempotent.
  void stop();

  int port() const { return server_.port(); }
  http::Metrics& metrics() { return server_.metrics(); }
  Applier& applier() { return applier_; }

 private:
  const AnalyticsOptions options_;
  const http::TokenAuth auth_;
  http::Server server_;
  DbPool pool_;
  Applier applier_;
  QueryApi api_;
  LiveStream live_;
  bool started_ = false;
  bool stopped_ = false;
};

// Applies the migrations, recreates the projections from the log and prints what it did.
// Returns the exit code.
int rebuild_and_report(const AnalyticsOptions& options, bus::Bus& bus);

}  // namespace kiln::analytics
