#include "analytics/projection_statements.h"

namespace kiln::analytics::stmt {
namespace {

struct Statement {
  const char* name;
  const char* sql;
};

// A build's step row and the build's live step fields in one round trip: the data-modifying CTE
// always runs, the UPDATE only when the build is live ($live).
constexpr Statement kStatements[] = {
    {kLoadStatus,
     "SELECT build_id, status, tenant, project FROM builds WHERE build_id = ANY($1::text[])"},
    // The number is the project's next one in stream order, so a rebuild numbers identically.
    {kInsertBuild,
     "INSERT INTO builds (build_id, build_number, project, tenant, status, trigger, provider,"
     " delivery_id, schedule_id, actor, retry_of, repo_url, ref, branch, commit_sha,"
     " commit_message, author, image_repository, registry, spec, requested_at, created_seq,"
     " last_seq)"
     " VALUES ($1, (SELECT coalesce(max(build_number), 0) + 1 FROM builds WHERE project = $2),"
     " $2, $3, 'requested', $4, NULLIF($5, ''), NULLIF($6, ''), NULLIF($7, ''), NULLIF($8, ''),"
     " NULLIF($9, ''), NULLIF($10, ''), NULLIF($11, ''), NULLIF($12, ''), NULLIF($13, ''),"
     " NULLIF($14, ''), NULLIF($15, ''), NULLIF($16, ''), NULLIF($17, ''), $18::jsonb,"
     " kiln_ms_to_ts($19), $20, $20)"},
    // $1 build, $2 step, $3 total, $4 instruction, $5 at, $6 current_step, $7 seq, $8 live
    {kStepStarted,
     "WITH step AS (INSERT INTO build_steps (build_id, step, total, instruction, started_at)"
     " VALUES ($1, $2, NULLIF($3::int, 0), $4, kiln_ms_to_ts($5))"
     " ON CONFLICT (build_id, step) DO UPDATE SET total = EXCLUDED.total,"
     " instruction = EXCLUDED.instruction,"
     " started_at = coalesce(build_steps.started_at, EXCLUDED.started_at))"
     " UPDATE builds SET current_step = $6, steps_total = greatest(steps_total, NULLIF($3::int, "
     "0)),"
     " last_seq = $7 WHERE build_id = $1 AND $8::boolean"},
    // $1 build, $2 step, $3 total, $4 instruction, $5 cached, $6 duration, $7 layer, $8 at,
    // $9 progress, $10 seq, $11 live (and total > 0)
    {kStepFinished,
     "WITH step AS (INSERT INTO build_steps (build_id, step, total, instruction, cached,"
     " duration_ms, layer_digest, finished_at)"
     " VALUES ($1, $2, NULLIF($3::int, 0), $4, $5, $6, NULLIF($7, ''), kiln_ms_to_ts($8))"
     " ON CONFLICT (build_id, step) DO UPDATE SET total = EXCLUDED.total,"
     " instruction = EXCLUDED.instruction, cached = EXCLUDED.cached,"
     " duration_ms = EXCLUDED.duration_ms, layer_digest = EXCLUDED.layer_digest,"
     " finished_at = EXCLUDED.finished_at)"
     " UPDATE builds SET progress = greatest(progress, $9::int),"
     " steps_total = greatest(steps_total, $3::int), last_seq = $10"
     " WHERE build_id = $1 AND $11::boolean"},
    {kCancelRequested,
     "UPDATE builds SET cancel_requested_by = NULLIF($2, ''), cancel_reason = NULLIF($3, ''),"
     " last_seq = $4 WHERE build_id = $1"},
    {kQueued,
     "UPDATE builds SET status = $2, queued_at = kiln_ms_to_ts($3), queue_position = $4,"
     " held_by = NULLIF($5, ''), last_seq = $6 WHERE build_id = $1"},
    {kDispatched,
     "UPDATE builds SET status = $2,"
     " dispatched_at = CASE WHEN $5 THEN kiln_ms_to_ts($3) ELSE dispatched_at END,"
     " attempt = greatest(attempt, $4), last_seq = $6 WHERE build_id = $1"},
    {kStarted,
     "UPDATE builds SET status = $2,"
     " started_at = CASE WHEN $7 THEN kiln_ms_to_ts($3) ELSE started_at END,"
     " worker_id = NULLIF($4, ''), attempt = greatest(attempt, $5),"
     " commit_sha = coalesce(NULLIF($6, ''), commit_sha), last_seq = $8"
     " WHERE build_id = $1"},
    {kBuilt,
     "UPDATE builds SET status = $2, built_at = kiln_ms_to_ts($3), digest = NULLIF($4, ''),"
     " steps_total = NULLIF($5::int, 0), steps_cached = $6, build_duration_ms = $7,"
     " image_size = $8, progress = 100, current_step = NULL, last_seq = $9"
     " WHERE build_id = $1"},
    {kPushed,
     "UPDATE builds SET status = $2, image_url = coalesce(NULLIF($3, ''), image_url),"
     " digest = coalesce(NULLIF($4, ''), digest), bytes_uploaded = $5, bytes_skipped = $6,"
     " push_duration_ms = $7, last_seq = $8 WHERE build_id = $1"},
    {kSucceeded,
     "UPDATE builds SET status = $2, finished_at = kiln_ms_to_ts($3),"
     " image_url = coalesce(NULLIF($4, ''), image_url),"
     " digest = coalesce(NULLIF($5, ''), digest), progress = 100, current_step = NULL,"
     " last_seq = $6 WHERE build_id = $1"},
    {kFailed,
     "UPDATE builds SET status = $2, finished_at = kiln_ms_to_ts($3), failure_stage = $4,"
     " failure_reason = NULLIF($5, ''), exit_code = $6, current_step = NULL, last_seq = $7"
     " WHERE build_id = $1"},
    {kCancelled,
     "UPDATE builds SET status = $2, finished_at = kiln_ms_to_ts($3), failure_stage = $4,"
     " failure_reason = coalesce(NULLIF($5, ''), cancel_reason), current_step = NULL,"
     " last_seq = $6 WHERE build_id = $1"},
    {kFinish,
     "INSERT INTO build_results (build_id, tenant, project, trigger, outcome, day, requested_at,"
     " started_at, finished_at, image_url, digest, total_duration_ms, queue_wait_ms,"
     " build_time_ms, push_time_ms, bytes_uploaded, bytes_skipped, steps_total, steps_cached,"
     " failure_stage, failure_reason, retry_of)"
     " SELECT b.build_id, b.tenant, b.project, b.trigger, b.status,"
     " (b.finished_at AT TIME ZONE 'UTC')::date, b.requested_at, b.started_at, b.finished_at,"
     " b.image_url, b.digest, kiln_ts_to_ms(b.finished_at) - kiln_ts_to_ms(b.requested_at),"
     " kiln_ts_to_ms(b.started_at) - kiln_ts_to_ms(b.requested_at), b.build_duration_ms,"
     " b.push_duration_ms, b.bytes_uploaded, b.bytes_skipped,"
     " coalesce(b.steps_total, (SELECT max(step) FROM build_steps s"
     "                          WHERE s.build_id = b.build_id)),"
     " coalesce(b.steps_cached, (SELECT count(*) FILTER (WHERE cached) FROM build_steps s"
     "                           WHERE s.build_id = b.build_id)),"
     " CASE WHEN b.status = 'succeeded' THEN NULL ELSE b.failure_stage END,"
     " CASE WHEN b.status = 'succeeded' THEN NULL ELSE b.failure_reason END, b.retry_of"
     " FROM builds b WHERE b.build_id = $1"
     " ON CONFLICT (build_id) DO NOTHING"
     " RETURNING day::text, tenant, project"},
    // Recomputes one (day, tenant, project) row from build_results: simple and exactly what a
    // rebuild would compute, whatever the batching.
    {kRollup,
     "WITH r AS (SELECT * FROM build_results"
     "           WHERE tenant = $2 AND day = $1::date AND ($3 = '*' OR project = $3)),"
     " top AS (SELECT failure_stage, failure_reason FROM r WHERE outcome = 'failed'"
     "         GROUP BY failure_stage, failure_reason"
     "         ORDER BY count(*) DESC, failure_stage NULLS LAST, failure_reason NULLS LAST"
     "         LIMIT 1),"
     " edges AS (SELECT started_at AS t, 1 AS d FROM r WHERE started_at IS NOT NULL"
     "           UNION ALL"
     "           SELECT finished_at, -1 FROM r WHERE started_at IS NOT NULL),"
     // Ends sort before starts at the same instant: intervals are half-open.
     " running AS (SELECT sum(d) OVER (ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS n FROM edges)"
     " INSERT INTO build_performance_daily (day, tenant, project, builds, succeeded, failed,"
     "  cancelled, avg_duration_ms, median_duration_ms, median_queue_wait_ms, failure_rate,"
     "  top_failure_stage, top_failure_reason, cache_hit_rate, peak_concurrent, by_manual,"
     "  by_webhook, by_schedule, by_retry)"
     " SELECT $1::date, $2, $3, count(*), count(*) FILTER (WHERE outcome = 'succeeded'),"
     "  count(*) FILTER (WHERE outcome = 'failed'),"
     "  count(*) FILTER (WHERE outcome = 'cancelled'), avg(total_duration_ms)::float8,"
     "  percentile_cont(0.5) WITHIN GROUP (ORDER BY total_duration_ms),"
     "  percentile_cont(0.5) WITHIN GROUP (ORDER BY queue_wait_ms),"
     "  (count(*) FILTER (WHERE outcome = 'failed'))::float8 / count(*),"
     "  (SELECT failure_stage FROM top), (SELECT failure_reason FROM top),"
     "  sum(steps_cached)::float8 / NULLIF(sum(steps_total), 0),"
     "  coalesce((SELECT max(n) FROM running), 0),"
     "  count(*) FILTER (WHERE trigger = 'manual'), count(*) FILTER (WHERE trigger = 'webhook'),"
     "  count(*) FILTER (WHERE trigger = 'schedule'), count(*) FILTER (WHERE trigger = 'retry')"
     " FROM r"
     " ON CONFLICT (tenant, project, day) DO UPDATE SET builds = EXCLUDED.builds,"
     "  succeeded = EXCLUDED.succeeded, failed = EXCLUDED.failed,"
     "  cancelled = EXCLUDED.cancelled, avg_duration_ms = EXCLUDED.avg_duration_ms,"
     "  median_duration_ms = EXCLUDED.median_duration_ms,"
     "  median_queue_wait_ms = EXCLUDED.median_queue_wait_ms,"
     "  failure_rate = EXCLUDED.failure_rate, top_failure_stage = EXCLUDED.top_failure_stage,"
     "  top_failure_reason = EXCLUDED.top_failure_reason,"
     "  cache_hit_rate = EXCLUDED.cache_hit_rate, peak_concurrent = EXCLUDED.peak_concurrent,"
     "  by_manual = EXCLUDED.by_manual, by_webhook = EXCLUDED.by_webhook,"
     "  by_schedule = EXCLUDED.by_schedule, by_retry = EXCLUDED.by_retry"},
    // Every history row of a batch in one statement; '' stands for NULL, as in the single inserts.
    {kHistory,
     "INSERT INTO build_status_history"
     " (seq, build_id, event_type, from_status, to_status, applied, reason, actor, at)"
     " SELECT h.seq, h.build_id, h.event_type, NULLIF(h.from_status, ''), NULLIF(h.to_status, ''),"
     " h.applied, NULLIF(h.reason, ''), NULLIF(h.actor, ''), kiln_ms_to_ts(h.at_ms)"
     " FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[],"
     " $7::text[], $8::text[], $9::bigint[])"
     " AS h(seq, build_id, event_type, from_status, to_status, applied, reason, actor, at_ms)"
     " ON CONFLICT (seq) DO NOTHING"},
};

template <typename T, typename Format>
std::string array_literal(const std::vector<T>& values, Format format) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += format(values[i]);
  }
  return out + "}";
}

}  // namespace

void prepare_statements(pqxx::connection_base& connection) {
  for (const auto& s : kStatements) {
    connection.prepare(s.name, s.sql);
    // Scripts run them with SQL EXECUTE, which needs them on the server already.
    connection.prepare_now(s.name);
  }
}

std::string text_array(const std::vector<std::string>& values) {
  return array_literal(values, [](const std::string& v) {
    // Quoted elements: only the quote and the backslash need escaping inside.
    std::string quoted = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    return quoted + "\"";
  });
}

std::string int_array(const std::vector<std::int64_t>& values) {
  return array_literal(values, [](std::int64_t v) { return std::to_string(v); });
}

std::string bool_array(const std::vector<bool>& values) {
  return array_literal(values, [](bool v) { return std::string(v ? "t" : "f"); });
}

}  // namespace kiln::analytics::stmt
