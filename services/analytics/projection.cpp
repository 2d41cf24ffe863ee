#include "services/analytics/projection.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "common/log.h"
#include "events/envelope.h"
#include "events/subjects.h"

namespace kiln::analytics {
namespace {

namespace v1 = ::kiln::events::v1;

bool is_terminal(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "cancelled";
}

// The status an event moves a build to; empty for events that carry data but no transition.
std::string implied_status(v1::Envelope::PayloadCase payload) {
  switch (payload) {
    case v1::Envelope::kRequested: return "requested";
    case v1::Envelope::kQueued: return "queued";
    case v1::Envelope::kDispatched: return "dispatched";
    case v1::Envelope::kStarted: return "building";
    case v1::Envelope::kBuilt:
    case v1::Envelope::kPushed: return "pushing";
    case v1::Envelope::kSucceeded: return "succeeded";
    case v1::Envelope::kFailed: return "failed";
    case v1::Envelope::kCancelled: return "cancelled";
    default: return "";
  }
}

// "refs/heads/main" and "main" are branch main; tags and commits are no branch.
std::string branch_of(const std::string& ref) {
  constexpr std::string_view kHeads = "refs/heads/";
  if (ref.rfind(kHeads, 0) == 0) return ref.substr(kHeads.size());
  if (ref.rfind("refs/", 0) == 0) return "";
  return ref;
}

std::string json_string(const std::string& s) { return "\"" + log::json_escape(s) + "\""; }

std::string json_strings(const google::protobuf::RepeatedPtrField<std::string>& values) {
  std::string out = "[";
  for (const auto& v : values) {
    if (out.size() > 1) out += ",";
    out += json_string(v);
  }
  return out + "]";
}

std::string spec_json(const v1::BuildSpec& spec) {
  // Build args are sorted so the same spec always gives the same text.
  std::vector<std::pair<std::string, std::string>> args(spec.build_args().begin(),
                                                        spec.build_args().end());
  std::sort(args.begin(), args.end());
  std::string build_args = "{";
  for (const auto& [k, v] : args) {
    if (build_args.size() > 1) build_args += ",";
    build_args += json_string(k) + ":" + json_string(v);
  }
  build_args += "}";
  return "{\"dockerfile\":" + json_string(spec.dockerfile()) +
         ",\"context\":" + json_string(spec.context()) + ",\"build_args\":" + build_args +
         ",\"target\":" + json_string(spec.target()) +
         ",\"platforms\":" + json_strings(spec.platforms()) +
         ",\"image_repository\":" + json_string(spec.image_repository()) +
         ",\"tags\":" + json_strings(spec.tags()) + ",\"registry\":" + json_string(spec.registry()) +
         ",\"no_cache\":" + (spec.no_cache() ? "true" : "false") +
         ",\"timeout_seconds\":" + std::to_string(spec.timeout_seconds()) +
         ",\"priority\":" + std::to_string(spec.priority()) +
         ",\"network\":" + (spec.network() ? "true" : "false") + "}";
}

struct RollupKey {
  std::string day;  // yyyy-mm-dd
  std::string tenant;
  std::string project;
  bool operator<(const RollupKey& o) const {
    return std::tie(day, tenant, project) < std::tie(o.day, o.tenant, o.project);
  }
};

class Applier {
 public:
  explicit Applier(pqxx::work& tx) : tx_(tx) {}

  void apply(const StoredEvent& event);
  void recompute_rollups();

 private:
  struct Current {
    bool exists = false;
    std::string status;
  };
  Current load(const std::string& build_id);
  void history(std::uint64_t seq, const std::string& build_id, const std::string& type,
               const std::string& from, const std::string& to, bool applied,
               const std::string& reason, const std::string& actor, std::int64_t at_ms);
  void apply_requested(std::uint64_t seq, const v1::Envelope& e, std::int64_t at_ms);
  void apply_transition(std::uint64_t seq, const v1::Envelope& e, const std::string& status,
                        std::int64_t at_ms);
  void apply_step(std::uint64_t seq, const v1::Envelope& e, bool live, std::int64_t at_ms);
  void finish(const std::string& build_id);

  pqxx::work& tx_;
  std::set<RollupKey> rollups_;
};

Applier::Current Applier::load(const std::string& build_id) {
  const auto rows = tx_.exec_params("SELECT status FROM builds WHERE build_id = $1", build_id);
  if (rows.empty()) return {};
  return {true, rows[0][0].as<std::string>()};
}

void Applier::history(std::uint64_t seq, const std::string& build_id, const std::string& type,
                      const std::string& from, const std::string& to, bool applied,
                      const std::string& reason, const std::string& actor, std::int64_t at_ms) {
  tx_.exec_params(
      "INSERT INTO build_status_history"
      " (seq, build_id, event_type, from_status, to_status, applied, reason, actor, at)"
      " VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''), $6, NULLIF($7, ''), NULLIF($8, ''),"
      " kiln_ms_to_ts($9)) ON CONFLICT (seq) DO NOTHING",
      static_cast<long long>(seq), build_id, type, from, to, applied, reason, actor,
      static_cast<long long>(at_ms));
}

void Applier::apply(const StoredEvent& event) {
  auto decoded = events::decode(event.data);
  const std::string subject_type = events::type_of_subject(event.subject);
  if (!decoded.ok()) {
    // Kept in history so the event is visible, never applied to the current state.
    const auto dot = event.subject.rfind('.');
    const std::string build_id = dot == std::string::npos ? "" : event.subject.substr(dot + 1);
    log::warn("undecodable event recorded in history only",
              {{"seq", static_cast<std::int64_t>(event.seq)}, {"subject", event.subject}});
    history(event.seq, build_id, subject_type.empty() ? "unknown" : subject_type, "", "", false,
            decoded.error().message, "", event.stored_at_ms);
    return;
  }
  const v1::Envelope& e = *decoded;
  const std::int64_t at_ms = e.occurred_at_ms() > 0 ? e.occurred_at_ms() : event.stored_at_ms;
  switch (e.payload_case()) {
    case v1::Envelope::kRequested:
      apply_requested(event.seq, e, at_ms);
      return;
    case v1::Envelope::kStepStarted:
    case v1::Envelope::kStepFinished: {
      const Current current = load(e.build_id());
      apply_step(event.seq, e, current.exists && !is_terminal(current.status), at_ms);
      return;
    }
    case v1::Envelope::kCancelRequested: {
      const Current current = load(e.build_id());
      const bool live = current.exists && !is_terminal(current.status);
      if (live) {
        tx_.exec_params(
            "UPDATE builds SET cancel_requested_by = NULLIF($2, ''), cancel_reason = NULLIF($3, ''),"
            " last_seq = $4 WHERE build_id = $1",
            e.build_id(), e.cancel_requested().by(), e.cancel_requested().reason(),
            static_cast<long long>(event.seq));
      }
      history(event.seq, e.build_id(), "cancel_requested", current.status, "", false,
              e.cancel_requested().reason(), e.cancel_requested().by(), at_ms);
      return;
    }
    case v1::Envelope::PAYLOAD_NOT_SET: {
      // A type this version does not know (a newer producer): history only.
      const Current current = load(e.build_id());
      const std::string type = !e.type().empty() ? e.type()
                               : !subject_type.empty() ? subject_type : "unknown";
      history(event.seq, e.build_id(), type, current.status, "", false, "", e.producer(), at_ms);
      return;
    }
    default:
      apply_transition(event.seq, e, implied_status(e.payload_case()), at_ms);
  }
}

void Applier::apply_requested(std::uint64_t seq, const v1::Envelope& e, std::int64_t at_ms) {
  const auto& r = e.requested();
  const auto& t = r.trigger();
  const auto& git = r.git();
  const Current current = load(e.build_id());
  if (!current.exists) {
    // The number is the project's next one in stream order, so a rebuild numbers identically.
    tx_.exec_params(
        "INSERT INTO builds (build_id, build_number, project, tenant, status, trigger, provider,"
        " delivery_id, schedule_id, actor, retry_of, repo_url, ref, branch, commit_sha,"
        " commit_message, author, image_repository, registry, spec, requested_at, created_seq,"
        " last_seq)"
        " VALUES ($1, (SELECT coalesce(max(build_number), 0) + 1 FROM builds WHERE project = $2),"
        " $2, $3, 'requested', $4, NULLIF($5, ''), NULLIF($6, ''), NULLIF($7, ''), NULLIF($8, ''),"
        " NULLIF($9, ''), NULLIF($10, ''), NULLIF($11, ''), NULLIF($12, ''), NULLIF($13, ''),"
        " NULLIF($14, ''), NULLIF($15, ''), NULLIF($16, ''), NULLIF($17, ''), $18::jsonb,"
        " kiln_ms_to_ts($19), $20, $20)",
        e.build_id(), r.project(), r.tenant(), std::string(events::trigger_name(t.kind())),
        t.provider(), t.delivery_id(), t.schedule_id(), t.actor(), t.retry_of(), git.repo_url(),
        git.ref(), branch_of(git.ref()), git.commit(), git.message(), git.author(),
        r.spec().image_repository(), r.spec().registry(), spec_json(r.spec()),
        static_cast<long long>(at_ms), static_cast<long long>(seq));
  }
  history(seq, e.build_id(), "requested", "", "requested", !current.exists, "", t.actor(), at_ms);
}

void Applier::apply_step(std::uint64_t seq, const v1::Envelope& e, bool live,
                         std::int64_t at_ms) {
  const long long s = static_cast<long long>(seq);
  if (e.has_step_started()) {
    const auto& st = e.step_started();
    tx_.exec_params(
        "INSERT INTO build_steps (build_id, step, total, instruction, started_at)"
        " VALUES ($1, $2, NULLIF($3, 0), $4, kiln_ms_to_ts($5))"
        " ON CONFLICT (build_id, step) DO UPDATE SET total = EXCLUDED.total,"
        " instruction = EXCLUDED.instruction,"
        " started_at = coalesce(build_steps.started_at, EXCLUDED.started_at)",
        e.build_id(), st.step(), st.total(), st.instruction(), static_cast<long long>(at_ms));
    if (live) {
      tx_.exec_params(
          "UPDATE builds SET current_step = $2, steps_total = greatest(steps_total, NULLIF($3, 0)),"
          " last_seq = $4 WHERE build_id = $1",
          e.build_id(),
          "step " + std::to_string(st.step()) + "/" + std::to_string(st.total()) + ": " +
              st.instruction(),
          st.total(), s);
    }
    return;
  }
  const auto& sf = e.step_finished();
  tx_.exec_params(
      "INSERT INTO build_steps (build_id, step, total, instruction, cached, duration_ms,"
      " layer_digest, finished_at)"
      " VALUES ($1, $2, NULLIF($3, 0), $4, $5, $6, NULLIF($7, ''), kiln_ms_to_ts($8))"
      " ON CONFLICT (build_id, step) DO UPDATE SET total = EXCLUDED.total,"
      " instruction = EXCLUDED.instruction, cached = EXCLUDED.cached,"
      " duration_ms = EXCLUDED.duration_ms, layer_digest = EXCLUDED.layer_digest,"
      " finished_at = EXCLUDED.finished_at",
      e.build_id(), sf.step(), sf.total(), sf.instruction(), sf.cached(),
      static_cast<long long>(sf.duration_ms()), sf.layer_digest(), static_cast<long long>(at_ms));
  if (live && sf.total() > 0) {
    const int progress = std::clamp(sf.step() * 100 / sf.total(), 0, 100);
    tx_.exec_params(
        "UPDATE builds SET progress = greatest(progress, $2),"
        " steps_total = greatest(steps_total, $3), last_seq = $4 WHERE build_id = $1",
        e.build_id(), progress, sf.total(), s);
  }
}

void Applier::apply_transition(std::uint64_t seq, const v1::Envelope& e, const std::string& status,
                               std::int64_t at_ms) {
  const Current current = load(e.build_id());
  // Forward only: a late event (a `started` after `cancelled`, a redelivered `queued`) is history.
  const bool live = current.exists && !is_terminal(current.status);
  const bool advances = live && status_rank(status) > status_rank(current.status);
  const std::string next = advances ? status : current.status;
  const long long s = static_cast<long long>(seq);
  const long long at = static_cast<long long>(at_ms);
  std::string reason;
  std::string actor = e.producer();

  switch (e.payload_case()) {
    case v1::Envelope::kQueued:
      reason = e.queued().held_by().empty() ? "" : "held by " + e.queued().held_by() + " limit";
      if (advances) {
        tx_.exec_params(
            "UPDATE builds SET status = $2, queued_at = kiln_ms_to_ts($3), queue_position = $4,"
            " held_by = NULLIF($5, ''), last_seq = $6 WHERE build_id = $1",
            e.build_id(), next, at, e.queued().position(), e.queued().held_by(), s);
      }
      break;
    case v1::Envelope::kDispatched:
      if (live) {
        tx_.exec_params(
            "UPDATE builds SET status = $2,"
            " dispatched_at = CASE WHEN $5 THEN kiln_ms_to_ts($3) ELSE dispatched_at END,"
            " attempt = greatest(attempt, $4), last_seq = $6 WHERE build_id = $1",
            e.build_id(), next, at, e.dispatched().attempt(), advances, s);
      }
      break;
    case v1::Envelope::kStarted:
      if (live) {
        tx_.exec_params(
            "UPDATE builds SET status = $2,"
            " started_at = CASE WHEN $7 THEN kiln_ms_to_ts($3) ELSE started_at END,"
            " worker_id = NULLIF($4, ''), attempt = greatest(attempt, $5),"
            " commit_sha = coalesce(NULLIF($6, ''), commit_sha), last_seq = $8"
            " WHERE build_id = $1",
            e.build_id(), next, at, e.started().worker_id(), e.started().attempt(),
            e.started().resolved_commit(), advances, s);
      }
      break;
    case v1::Envelope::kBuilt: {
      const auto& b = e.built();
      if (live) {
        tx_.exec_params(
            "UPDATE builds SET status = $2, built_at = kiln_ms_to_ts($3), digest = NULLIF($4, ''),"
            " steps_total = NULLIF($5, 0), steps_cached = $6, build_duration_ms = $7,"
            " image_size = $8, progress = 100, current_step = NULL, last_seq = $9"
            " WHERE build_id = $1",
            e.build_id(), next, at, b.manifest_digest(), b.steps_total(), b.steps_cached(),
            static_cast<long long>(b.build_duration_ms()), static_cast<long long>(b.image_size()),
            s);
      }
      break;
    }
    case v1::Envelope::kPushed: {
      const auto& p = e.pushed();
      const std::string url = p.images().empty() ? "" : p.images(0).url();
      if (live) {
        tx_.exec_params(
            "UPDATE builds SET status = $2, image_url = coalesce(NULLIF($3, ''), image_url),"
            " digest = coalesce(NULLIF($4, ''), digest), bytes_uploaded = $5, bytes_skipped = $6,"
            " push_duration_ms = $7, last_seq = $8 WHERE build_id = $1",
            e.build_id(), next, url, p.digest(), static_cast<long long>(p.bytes_uploaded()),
            static_cast<long long>(p.bytes_skipped()), static_cast<long long>(p.push_duration_ms()),
            s);
      }
      break;
    }
    case v1::Envelope::kSucceeded:
      if (advances) {
        tx_.exec_params(
            "UPDATE builds SET status = $2, finished_at = kiln_ms_to_ts($3),"
            " image_url = coalesce(NULLIF($4, ''), image_url),"
            " digest = coalesce(NULLIF($5, ''), digest), progress = 100, current_step = NULL,"
            " last_seq = $6 WHERE build_id = $1",
            e.build_id(), next, at, e.succeeded().image_url(), e.succeeded().digest(), s);
      }
      break;
    case v1::Envelope::kFailed:
      reason = e.failed().reason();
      if (advances) {
        tx_.exec_params(
            "UPDATE builds SET status = $2, finished_at = kiln_ms_to_ts($3), failure_stage = $4,"
            " failure_reason = NULLIF($5, ''), exit_code = $6, current_step = NULL, last_seq = $7"
            " WHERE build_id = $1",
            e.build_id(), next, at, std::string(events::stage_name(e.failed().stage())), reason,
            e.failed().exit_code(), s);
      }
      break;
    case v1::Envelope::kCancelled:
      reason = e.cancelled().reason();
      if (advances) {
        tx_.exec_params(
            "UPDATE builds SET status = $2, finished_at = kiln_ms_to_ts($3), failure_stage = $4,"
            " failure_reason = coalesce(NULLIF($5, ''), cancel_reason), current_step = NULL,"
            " last_seq = $6 WHERE build_id = $1",
            e.build_id(), next, at, std::string(events::stage_name(e.cancelled().stage())),
            reason, s);
      }
      break;
    default:
      break;
  }
  history(seq, e.build_id(), events::type_name(e.payload_case()), current.status, status,
          advances, reason, actor, at_ms);
  if (advances && is_terminal(status)) finish(e.build_id());
}

// Writes the result row of a build that just finished and marks its day for the rollup.
void Applier::finish(const std::string& build_id) {
  const auto rows = tx_.exec_params(
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
      " RETURNING day::text, tenant, project",
      build_id);
  for (const auto& row : rows) {
    const std::string day = row[0].as<std::string>();
    const std::string tenant = row[1].as<std::string>();
    rollups_.insert({day, tenant, row[2].as<std::string>()});
    rollups_.insert({day, tenant, "*"});
  }
}

// Recomputes each touched (day, tenant, project) row from build_results: simple and exactly what
// a rebuild would compute, whatever the batching.
void Applier::recompute_rollups() {
  for (const auto& key : rollups_) {
    tx_.exec_params(
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
        "  by_schedule = EXCLUDED.by_schedule, by_retry = EXCLUDED.by_retry",
        key.day, key.tenant, key.project);
  }
  rollups_.clear();
}

}  // namespace

StoredEvent to_stored_event(const bus::Message& message) {
  return StoredEvent{message.stream_sequence(), std::string(message.subject()),
                     std::string(message.data()), message.timestamp_ns() / 1000000};
}

int status_rank(const std::string& status) {
  if (status == "requested") return 0;
  if (status == "queued") return 1;
  if (status == "dispatched") return 2;
  if (status == "building") return 3;
  if (status == "pushing") return 4;
  if (is_terminal(status)) return 5;
  return -1;
}

void lock_projections(pqxx::work& tx) {
  tx.exec_params("SELECT pg_advisory_xact_lock($1)", kApplyLockKey);
}

std::uint64_t read_checkpoint(pqxx::work& tx) {
  const auto rows = tx.exec_params(
      "SELECT last_seq FROM projection_checkpoint WHERE name = $1", std::string(kCheckpointName));
  return rows.empty() ? 0 : rows[0][0].as<std::uint64_t>();
}

BatchResult apply_batch(pqxx::work& tx, std::uint64_t checkpoint, std::vector<StoredEvent> events) {
  std::sort(events.begin(), events.end(),
            [](const StoredEvent& a, const StoredEvent& b) { return a.seq < b.seq; });
  BatchResult result;
  result.checkpoint = checkpoint;
  Applier applier(tx);
  for (const auto& event : events) {
    if (event.seq <= result.checkpoint) {
      ++result.skipped;  // a redelivery, a replay, or a duplicate inside this batch
      continue;
    }
    applier.apply(event);
    result.checkpoint = event.seq;
    ++result.applied;
  }
  applier.recompute_rollups();
  if (result.checkpoint != checkpoint) {
    tx.exec_params(
        "INSERT INTO projection_checkpoint (name, last_seq) VALUES ($1, $2)"
        " ON CONFLICT (name) DO UPDATE SET last_seq = EXCLUDED.last_seq",
        std::string(kCheckpointName), static_cast<long long>(result.checkpoint));
  }
  return result;
}

}  // namespace kiln::analytics
