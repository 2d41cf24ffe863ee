#include "analytics/query_api.h"

#include <Poco/DateTimeParser.h>
#include <Poco/Timestamp.h>

#include <chrono>

#include "analytics/cursor.h"
#include "analytics/log_reader.h"
#include "analytics/metrics.h"
#include "json/writer.h"

namespace kiln::analytics {
namespace {

constexpr int kDefaultLimit = 50;
constexpr int kMaxLimit = 500;
constexpr std::size_t kMaxLogLines = 10000;

// RFC 3339 UTC with milliseconds, as everywhere else in kiln's JSON.
std::string ts(const std::string& column) {
  return "to_char(" + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

// The fields of a build in lists and in the detail (JSON built by PostgreSQL in one pass).
std::string build_fields() {
  return "'build_id', b.build_id, 'number', b.build_number, 'project', b.project,"
         " 'tenant', b.tenant, 'status', b.status, 'progress', b.progress,"
         " 'current_step', b.current_step, 'trigger', b.trigger, 'actor', b.actor,"
         " 'retry_of', b.retry_of, 'repo_url', b.repo_url, 'ref', b.ref, 'branch', b.branch,"
         " 'commit', b.commit_sha, 'commit_message', b.commit_message, 'author', b.author,"
         " 'image_url', b.image_url, 'digest', b.digest, 'failure_stage', b.failure_stage,"
         " 'failure_reason', b.failure_reason, 'attempt', b.attempt,"
         " 'requested_at', " +
         ts("b.requested_at") + ", 'started_at', " + ts("b.started_at") + ", 'finished_at', " +
         ts("b.finished_at") +
         ", 'duration_ms', kiln_ts_to_ms(b.finished_at) - kiln_ts_to_ms(b.requested_at)";
}

int int_param(const http::Request& request, const std::string& name, int fallback, int min,
              int max) {
  const std::string value = request.query_or(name, "");
  if (value.empty()) return fallback;
  try {
    std::size_t used = 0;
    const long long v = std::stoll(value, &used);
    if (used == value.size() && v >= min && v <= max) return static_cast<int>(v);
  } catch (const std::exception&) {
  }
  throw http::HttpError(422, "invalid_argument",
                        "'" + name + "' must be an integer from " + std::to_string(min) + " to " +
                            std::to_string(max));
}

std::string date_param(const http::Request& request, const std::string& name) {
  const std::string value = request.query_or(name, "");
  if (value.empty()) return "";
  const bool shaped = value.size() == 10 && value[4] == '-' && value[7] == '-';
  Poco::DateTime parsed;
  int tzd = 0;
  if (!shaped || !Poco::DateTimeParser::tryParse("%Y-%m-%d", value, parsed, tzd)) {
    throw http::HttpError(422, "invalid_argument", "'" + name + "' must be a date YYYY-MM-DD");
  }
  return value;
}

}  // namespace

std::string tenant_filter(const http::Principal& principal) {
  return principal.admin && principal.tenant == "*" ? "" : principal.tenant;
}

std::string scoped_tenant(const http::Principal& principal, const http::Request& request) {
  const std::string asked = request.query_or("tenant", "");
  if (asked.empty()) return tenant_filter(principal);
  http::TokenAuth::require_tenant(principal, asked);
  return asked;
}

std::int64_t parse_time_ms(const std::string& field, const std::string& value) {
  if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos &&
      value.size() <= 15) {
    return std::stoll(value);
  }
  Poco::DateTime parsed;
  int tzd = 0;
  if (!Poco::DateTimeParser::tryParse(value, parsed, tzd)) {
    throw http::HttpError(422, "invalid_argument",
                          "'" + field + "' must be RFC 3339 (2026-11-30T02:00:00Z) or unix ms");
  }
  parsed.makeUTC(tzd);
  return parsed.timestamp().epochMicroseconds() / 1000;
}

QueryApi::QueryApi(DbPool& pool, bus::Bus& bus, const http::TokenAuth& auth, http::Metrics& metrics)
    : pool_(pool), bus_(bus), auth_(auth), metrics_(metrics) {}

http::Principal QueryApi::authorize(const http::Request& request) const {
  return auth_.require(request, http::Role::kRead);
}

void QueryApi::observe(const std::string& endpoint, double seconds) {
  metrics_.observe(metric::kQuerySeconds, seconds, {{"endpoint", endpoint}});
}

void QueryApi::register_routes(http::Server& server) {
  auto timed = [this](std::string endpoint, auto member) {
    return [this, endpoint, member](http::Request& request) {
      const auto started = std::chrono::steady_clock::now();
      http::Response response = (this->*member)(request);
      observe(endpoint,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      return response;
    };
  };
  server.route("GET", "/v1/builds", timed("builds", &QueryApi::list_all_builds));
  server.route("GET", "/v1/projects/{name}/builds",
               timed("project_builds", &QueryApi::list_project_builds));
  server.route("GET", "/v1/builds/{id}", timed("build", &QueryApi::get_build));
  server.route("GET", "/v1/builds/{id}/logs", timed("logs", &QueryApi::get_logs));
  server.route("GET", "/v1/analytics/daily", timed("daily", &QueryApi::daily));
  server.route("GET", "/v1/analytics/summary", timed("summary", &QueryApi::summary));
}

std::string QueryApi::visible_status(const http::Principal& principal,
                                     const std::string& build_id) {
  std::string status;
  pool_.read([&](pqxx::read_transaction& tx) {
    const auto rows =
        tx.exec_params("SELECT status FROM builds WHERE build_id = $1 AND ($2 = '' OR tenant = $2)",
                       build_id, tenant_filter(principal));
    if (!rows.empty()) status = rows[0][0].as<std::string>();
  });
  if (status.empty()) throw http::HttpError(404, "not_found", "no build " + build_id);
  return status;
}

http::Response QueryApi::list_all_builds(http::Request& request) {
  return list_builds(request, request.query_or("project", ""));
}

http::Response QueryApi::list_project_builds(http::Request& request) {
  return list_builds(request, request.path_params["name"]);
}

http::Response QueryApi::list_builds(http::Request& request, const std::string& project) {
  const http::Principal principal = authorize(request);
  const int limit = int_param(request, "limit", kDefaultLimit, 1, kMaxLimit);
  const std::string status = request.query_or("status", "");
  if (!status.empty() && status != "requested" && status != "queued" && status != "dispatched" &&
      status != "building" && status != "pushing" && status != "succeeded" && status != "failed" &&
      status != "cancelled") {
    throw http::HttpError(422, "invalid_argument", "unknown status '" + status + "'");
  }
  const std::string since = request.query_or("since", "");
  const std::string until = request.query_or("until", "");
  const long long since_ms = since.empty() ? 0 : parse_time_ms("since", since);
  const long long until_ms = until.empty() ? 0 : parse_time_ms("until", until);
  BuildCursor cursor;
  if (const std::string text = request.query_or("cursor", ""); !text.empty()) {
    auto decoded = decode_cursor(text);
    if (!decoded) throw http::HttpError(422, "invalid_argument", "'cursor' is not a cursor");
    cursor = *decoded;
  }
  json::Array builds;
  std::string next_cursor;
  pool_.read([&](pqxx::read_transaction& tx) {
    const auto rows = tx.exec_params(
        "SELECT json_build_object(" + build_fields() +
            ")::text,"
            " kiln_ts_to_ms(b.requested_at), b.build_id"
            " FROM builds b"
            " WHERE ($1 = '' OR b.tenant = $1) AND ($2 = '' OR b.project = $2)"
            " AND ($3 = '' OR b.status = $3) AND ($4 = '' OR b.trigger = $4)"
            " AND ($5 = '' OR b.branch = $5)"
            " AND ($6::bigint = 0 OR b.requested_at >= kiln_ms_to_ts($6))"
            " AND ($7::bigint = 0 OR b.requested_at < kiln_ms_to_ts($7))"
            " AND ($8::bigint = 0 OR (b.requested_at, b.build_id) < (kiln_ms_to_ts($8), $9))"
            " ORDER BY b.requested_at DESC, b.build_id DESC LIMIT $10",
        scoped_tenant(principal, request), project, status, request.query_or("trigger", ""),
        request.query_or("branch", ""), since_ms, until_ms,
        static_cast<long long>(cursor.requested_at_ms), cursor.build_id, limit + 1);
    for (std::size_t i = 0; i < rows.size() && i < static_cast<std::size_t>(limit); ++i) {
      builds.add(json::Raw{rows[i][0].c_str()});
    }
    if (rows.size() > static_cast<std::size_t>(limit)) {
      const auto& last = rows[static_cast<std::size_t>(limit) - 1];
      next_cursor = encode_cursor({last[1].as<std::int64_t>(), last[2].as<std::string>()});
    }
  });
  json::Object answer;
  answer.add("builds", builds);
  if (next_cursor.empty()) {
    answer.add("next_cursor", nullptr);
  } else {
    answer.add("next_cursor", next_cursor);
  }
  return http::json_response(200, answer.str());
}

http::Response QueryApi::get_build(http::Request& request) {
  const http::Principal principal = authorize(request);
  const std::string id = request.path_params["id"];
  std::string body;
  pool_.read([&](pqxx::read_transaction& tx) {
    const auto rows = tx.exec_params(
        "SELECT json_build_object(" + build_fields() +
            ", 'image_repository', b.image_repository, 'registry', b.registry, 'spec', b.spec,"
            " 'queue_position', b.queue_position, 'held_by', b.held_by, 'worker_id', b.worker_id,"
            " 'queued_at', " +
            ts("b.queued_at") + ", 'dispatched_at', " + ts("b.dispatched_at") + ", 'built_at', " +
            ts("b.built_at") +
            ", 'cancel_requested_by', b.cancel_requested_by,"
            " 'steps', (SELECT coalesce(json_agg(json_build_object('step', s.step,"
            "   'total', s.total, 'instruction', s.instruction, 'cached', s.cached,"
            "   'duration_ms', s.duration_ms, 'layer_digest', s.layer_digest) ORDER BY s.step),"
            "   '[]') FROM build_steps s WHERE s.build_id = b.build_id),"
            " 'history', (SELECT coalesce(json_agg(json_build_object('seq', h.seq,"
            "   'event', h.event_type, 'from', h.from_status, 'to', h.to_status,"
            "   'applied', h.applied, 'reason', h.reason, 'actor', h.actor, 'at', " +
            ts("h.at") +
            ") ORDER BY h.seq), '[]')"
            "   FROM build_status_history h WHERE h.build_id = b.build_id),"
            " 'result', (SELECT json_build_object('outcome', r.outcome, 'image_url', r.image_url,"
            "   'digest', r.digest, 'total_duration_ms', r.total_duration_ms,"
            "   'queue_wait_ms', r.queue_wait_ms, 'build_time_ms', r.build_time_ms,"
            "   'push_time_ms', r.push_time_ms, 'bytes_uploaded', r.bytes_uploaded,"
            "   'bytes_skipped', r.bytes_skipped, 'steps_total', r.steps_total,"
            "   'steps_cached', r.steps_cached, 'failure_stage', r.failure_stage,"
            "   'failure_reason', r.failure_reason, 'retry_of', r.retry_of)"
            "   FROM build_results r WHERE r.build_id = b.build_id))::text"
            " FROM builds b WHERE b.build_id = $1 AND ($2 = '' OR b.tenant = $2)",
        id, tenant_filter(principal));
    if (!rows.empty()) body = rows[0][0].c_str();
  });
  if (body.empty()) throw http::HttpError(404, "not_found", "no build " + id);
  return http::json_response(200, body);
}

http::Response QueryApi::get_logs(http::Request& request) {
  const http::Principal principal = authorize(request);
  const std::string id = request.path_params["id"];
  visible_status(principal, id);
  const int from = int_param(request, "from", 1, 1, 2000000000);
  const int limit = int_param(request, "limit", static_cast<int>(kMaxLogLines), 1,
                              static_cast<int>(kMaxLogLines));
  auto lines = read_log_lines(bus_, id, from, static_cast<std::size_t>(limit));
  if (!lines.ok()) http::throw_error(lines.error());
  json::Array out;
  std::int64_t next = from;
  for (const auto& line : *lines) {
    out.add(json::Raw{log_line_json(line)});
    next = line.n + 1;
  }
  return http::json_response(
      200, json::Object().add("build_id", id).add("lines", out).add("next", next).str());
}

http::Response QueryApi::daily(http::Request& request) {
  const http::Principal principal = authorize(request);
  const std::string tenant = scoped_tenant(principal, request);
  {
    if (tenant.empty()) {
      throw http::HttpError(422, "invalid_argument", "an admin token names the 'tenant' to show");
    }
  }
  const std::string project = request.query_or("project", "*");
  const std::string from = date_param(request, "from");
  const std::string to = date_param(request, "to");
  std::string body;
  pool_.read([&](pqxx::read_transaction& tx) {
    const auto rows = tx.exec_params(
        "SELECT coalesce(json_agg(json_build_object('day', d.day::text, 'project', d.project,"
        " 'builds', d.builds, 'succeeded', d.succeeded, 'failed', d.failed,"
        " 'cancelled', d.cancelled, 'avg_duration_ms', d.avg_duration_ms,"
        " 'median_duration_ms', d.median_duration_ms,"
        " 'median_queue_wait_ms', d.median_queue_wait_ms, 'failure_rate', d.failure_rate,"
        " 'top_failure', CASE WHEN d.top_failure_stage IS NULL THEN NULL ELSE"
        "   json_build_object('stage', d.top_failure_stage, 'reason', d.top_failure_reason) END,"
        " 'cache_hit_rate', d.cache_hit_rate, 'peak_concurrent', d.peak_concurrent,"
        " 'by_trigger', json_build_object('manual', d.by_manual, 'webhook', d.by_webhook,"
        "   'schedule', d.by_schedule, 'retry', d.by_retry)) ORDER BY d.day), '[]')::text"
        " FROM build_performance_daily d"
        " WHERE d.tenant = $1 AND d.project = $2"
        " AND d.day >= coalesce(NULLIF($3, '')::date, (now() AT TIME ZONE 'UTC')::date - 30)"
        " AND ($4 = '' OR d.day <= $4::date)",
        tenant, project, from, to);
    body = rows[0][0].c_str();
  });
  return http::json_response(
      200, json::Object().add("project", project).add("days", json::Raw{body}).str());
}

http::Response QueryApi::summary(http::Request& request) {
  const http::Principal principal = authorize(request);
  const std::string project = request.query_or("project", "");
  const int days = int_param(request, "days", 7, 1, 3660);
  std::string body;
  pool_.read([&](pqxx::read_transaction& tx) {
    const auto rows = tx.exec_params(
        "SELECT json_build_object('project', coalesce(NULLIF($2, ''), '*'), 'days', $3::int,"
        " 'builds', count(*), 'succeeded', count(*) FILTER (WHERE outcome = 'succeeded'),"
        " 'failed', count(*) FILTER (WHERE outcome = 'failed'),"
        " 'cancelled', count(*) FILTER (WHERE outcome = 'cancelled'),"
        " 'success_rate', (count(*) FILTER (WHERE outcome = 'succeeded'))::float8"
        "   / NULLIF(count(*), 0),"
        " 'duration_ms', json_build_object("
        "   'p50', percentile_cont(0.5) WITHIN GROUP (ORDER BY total_duration_ms),"
        "   'p95', percentile_cont(0.95) WITHIN GROUP (ORDER BY total_duration_ms)),"
        " 'queue_wait_ms', json_build_object("
        "   'p50', percentile_cont(0.5) WITHIN GROUP (ORDER BY queue_wait_ms),"
        "   'p95', percentile_cont(0.95) WITHIN GROUP (ORDER BY queue_wait_ms)),"
        " 'cache_hit_rate', sum(steps_cached)::float8 / NULLIF(sum(steps_total), 0))::text"
        " FROM build_results"
        " WHERE ($1 = '' OR tenant = $1) AND ($2 = '' OR project = $2)"
        " AND finished_at >= now() - make_interval(days => $3::int)",
        scoped_tenant(principal, request), project, days);
    body = rows[0][0].c_str();
  });
  return http::json_response(200, body);
}

}  // namespace kiln::analytics
