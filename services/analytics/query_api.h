// The JSON query API over the projections (GET only, bearer tokens with the read role, every query
// limited to the caller's tenant; an admin token of tenant "*" sees every tenant):
//   GET /v1/builds                    filters project, status, trigger, branch, since, until;
//                                     limit (1..500, default 50) and cursor (keyset, newest first)
//   GET /v1/projects/{name}/builds    the same for one project
//   GET /v1/builds/{id}               the build with steps[], history[] and result{}
//   GET /v1/builds/{id}/logs?from=N   log lines from KILN_LOGS
//   GET /v1/analytics/daily?project=&from=&to=
//   GET /v1/analytics/summary?project=&days=
#pragma once

#include <string>

#include "analytics/db_pool.h"
#include "bus/bus.h"
#include "http/auth.h"
#include "http/server.h"

namespace kiln::analytics {

class QueryApi {
 public:
  QueryApi(DbPool& pool, bus::Bus& bus, const http::TokenAuth& auth, http::Metrics& metrics);

  void register_routes(http::Server& server);

  // Shared with the live stream: the caller, and the build if the caller may see it (404 else).
  http::Principal authorize(const http::Request& request) const;
  // The build's current status, or throws 404 when it does not exist or is another tenant's.
  std::string visible_status(const http::Principal& principal, const std::string& build_id);

 private:
  http::Response list_all_builds(http::Request& request);
  http::Response list_project_builds(http::Request& request);
  http::Response list_builds(http::Request& request, const std::string& project);
  http::Response get_build(http::Request& request);
  http::Response get_logs(http::Request& request);
  http::Response daily(http::Request& request);
  http::Response summary(http::Request& request);
  // kiln_analytics_query_seconds{endpoint=...}: every route of this API is timed.
  void observe(const std::string& endpoint, double seconds);

  DbPool& pool_;
  bus::Bus& bus_;
  const http::TokenAuth& auth_;
  http::Metrics& metrics_;
};

// The tenant filter for SQL: "" for every tenant (admin of "*"), else the principal's tenant.
std::string tenant_filter(const http::Principal& principal);
// The tenant a request asks for with ?tenant= (403 unless the principal may act in it), or
// tenant_filter() when it asks for none.
std::string scoped_tenant(const http::Principal& principal, const http::Request& request);

// Parses RFC 3339 / ISO 8601 or unix milliseconds; throws HttpError 422 naming `field`.
std::int64_t parse_time_ms(const std::string& field, const std::string& value);

}  // namespace kiln::analytics
