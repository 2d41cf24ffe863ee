#include "analytics/projection.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "analytics/projection_statements.h"
#include "common/log.h"
#include "events/envelope.h"
#include "events/subjects.h"
#include "json/writer.h"

namespace kiln::analytics {
namespace {

namespace v1 = ::kiln::events::v1;

bool is_terminal(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "cancelled";
}

// "refs/heads/main" and "main" are branch main; tags and commits are no branch.
std::string branch_of(const std::string& ref) {
  constexpr std::string_view kHeads = "refs/heads/";
  if (ref.rfind(kHeads, 0) == 0) return ref.substr(kHeads.size());
  if (ref.rfind("refs/", 0) == 0) return "";
  return ref;
}

json::Array json_strings(const google::protobuf::RepeatedPtrField<std::string>& values) {
  json::Array out;
  for (const auto& v : values) out.add(v);
  return out;
}

std::string spec_json(const v1::BuildSpec& spec) {
  // Build args are sorted so the same spec always gives the same text.
  std::vector<std::pair<std::string, std::string>> args(spec.build_args().begin(),
                                                        spec.build_args().end());
  std::sort(args.begin(), args.end());
  json::Object build_args;
  for (const auto& [k, v] : args) build_args.add(k, v);
  return json::Object()
      .add("dockerfile", spec.dockerfile())
      .add("context", spec.context())
      .add("build_args", build_args)
      .add("target", spec.target())
      .add("platforms", json_strings(spec.platforms()))
      .add("image_repository", spec.image_repository())
      .add("tags", json_strings(spec.tags()))
      .add("registry", spec.registry())
      .add("no_cache", spec.no_cache())
      .add("timeout_seconds", spec.timeout_seconds())
      .add("priority", spec.priority())
      .add("network", spec.network())
      .str();
}

struct RollupKey {
  std::string day;  // yyyy-mm-dd
  std::string tenant;
  std::string project;
  bool operator<(const RollupKey& o) const {
    return std::tie(day, tenant, project) < std::tie(o.day, o.tenant, o.project);
  }
};

// The statements of a batch as one script of EXECUTEs of the prepared statements, sent in a single
// round trip: per-statement round trips, not PostgreSQL's work, were the cost of applying events.
// Statements run in the order they were added; the first that fails aborts the transaction.
class Script {
 public:
  explicit Script(pqxx::work& tx) : tx_(tx) {}

  template <typename... Args>
  void add(const char* statement, const Args&... args) {
    text_ += "EXECUTE ";
    text_ += statement;
    char separator = '(';
    ((text_ += separator, text_ += literal(args), separator = ','), ...);
    text_ += ");\n";
  }
  void run() {
    if (text_.empty()) return;
    tx_.exec(text_);
    text_.clear();
  }

 private:
  std::string literal(const std::string& v) { return tx_.quote(v); }
  static std::string literal(bool v) { return v ? "true" : "false"; }
  static std::string literal(int v) { return std::to_string(v); }
  static std::string literal(long long v) { return std::to_string(v); }
  static std::string literal(long v) { return std::to_string(v); }

  pqxx::work& tx_;
  std::string text_;
};

// The UTC day (yyyy-mm-dd) of unix milliseconds, as PostgreSQL's (t AT TIME ZONE 'UTC')::date.
std::string utc_day(std::int64_t unix_ms) {
  const std::chrono::sys_days day = std::chrono::floor<std::chrono::days>(
      std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(unix_ms)));
  const std::chrono::year_month_day ymd(day);
  char out[16];
  std::snprintf(out, sizeof out, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return out;
}

// History rows of one batch, column by column, written with one statement at the end.
struct HistoryRows {
  std::vector<std::int64_t> seq;
  std::vector<std::string> build_id, event_type, from, to;
  std::vector<bool> applied;
  std::vector<std::string> reason, actor;
  std::vector<std::int64_t> at_ms;
};

// Applies the events of one batch to the projection tables, inside the caller's transaction.
class BatchApplier {
 public:
  explicit BatchApplier(pqxx::work& tx) : tx_(tx), script_(tx) {}

  // Reads the current state of every build the batch names, in one query.
  void prefetch(const std::vector<std::string>& build_ids);
  // Adds the statements of one event to the batch's script.
  void apply(const StoredEvent& event, const Result<v1::Envelope>& decoded);
  // Adds the history rows and the rollups, then runs the script.
  void finish_batch();

 private:
  // The current state the decisions need, kept up to date in memory while the batch applies, so
  // no event has to read its build back from PostgreSQL.
  struct Current {
    bool exists = false;
    std::string status;
    std::string tenant;
    std::string project;
  };
  const Current& load(const std::string& build_id) { return current_[build_id]; }
  void history(std::uint64_t seq, const std::string& build_id, const std::string& type,
               const std::string& from, const std::string& to, bool applied,
               const std::string& reason, const std::string& actor, std::int64_t at_ms);
  void apply_requested(std::uint64_t seq, const v1::Envelope& e, std::int64_t at_ms);
  void apply_transition(std::uint64_t seq, const v1::Envelope& e, const std::string& status,
                        std::int64_t at_ms);
  void apply_step(std::uint64_t seq, const v1::Envelope& e, bool live, std::int64_t at_ms);
  void finish(const std::string& build_id, std::int64_t finished_at_ms);
  void flush_history();
  void recompute_rollups();

  pqxx::work& tx_;
  Script script_;
  std::map<std::string, Current> current_;
  HistoryRows history_;
  std::set<RollupKey> rollups_;
};

void BatchApplier::prefetch(const std::vector<std::string>& build_ids) {
  const auto rows = tx_.exec_prepared(stmt::kLoadStatus, stmt::text_array(build_ids));
  for (const auto& row : rows) {
    current_[row[0].as<std::string>()] =
        Current{true, row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>()};
  }
}

void BatchApplier::history(std::uint64_t seq, const std::string& build_id, const std::string& type,
                           const std::string& from, const std::string& to, bool applied,
                           const std::string& reason, const std::string& actor,
                           std::int64_t at_ms) {
  history_.seq.push_back(static_cast<std::int64_t>(seq));
  history_.build_id.push_back(build_id);
  history_.event_type.push_back(type);
  history_.from.push_back(from);
  history_.to.push_back(to);
  history_.applied.push_back(applied);
  history_.reason.push_back(reason);
  history_.actor.push_back(actor);
  history_.at_ms.push_back(at_ms);
}

void BatchApplier::flush_history() {
  if (history_.seq.empty()) return;
  script_.add(stmt::kHistory, stmt::int_array(history_.seq), stmt::text_array(history_.build_id),
              stmt::text_array(history_.event_type), stmt::text_array(history_.from),
              stmt::text_array(history_.to), stmt::bool_array(history_.applied),
              stmt::text_array(history_.reason), stmt::text_array(history_.actor),
              stmt::int_array(history_.at_ms));
  history_ = HistoryRows{};
}

void BatchApplier::apply(const StoredEvent& event, const Result<v1::Envelope>& decoded) {
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
      const Current& current = load(e.build_id());
      apply_step(event.seq, e, current.exists && !is_terminal(current.status), at_ms);
      return;
    }
    case v1::Envelope::kCancelRequested: {
      const Current& current = load(e.build_id());
      const bool live = current.exists && !is_terminal(current.status);
      if (live) {
        script_.add(stmt::kCancelRequested, e.build_id(), e.cancel_requested().by(),
                    e.cancel_requested().reason(), static_cast<long long>(event.seq));
      }
      history(event.seq, e.build_id(), "cancel_requested", current.status, "", false,
              e.cancel_requested().reason(), e.cancel_requested().by(), at_ms);
      return;
    }
    case v1::Envelope::PAYLOAD_NOT_SET: {
      // A type this version does not know (a newer producer): history only.
      const Current& current = load(e.build_id());
      const std::string type = !e.type().empty()       ? e.type()
                               : !subject_type.empty() ? subject_type
                                                       : "unknown";
      history(event.seq, e.build_id(), type, current.status, "", false, "", e.producer(), at_ms);
      return;
    }
    default:
      apply_transition(event.seq, e, events::implied_status(e.payload_case()), at_ms);
  }
}

void BatchApplier::apply_requested(std::uint64_t seq, const v1::Envelope& e, std::int64_t at_ms) {
  const auto& r = e.requested();
  const auto& t = r.trigger();
  const auto& git = r.git();
  Current& current = current_[e.build_id()];
  const bool created = !current.exists;
  if (created) {
    script_.add(stmt::kInsertBuild, e.build_id(), r.project(), r.tenant(),
                std::string(events::trigger_name(t.kind())), t.provider(), t.delivery_id(),
                t.schedule_id(), t.actor(), t.retry_of(), git.repo_url(), git.ref(),
                branch_of(git.ref()), git.commit(), git.message(), git.author(),
                r.spec().image_repository(), r.spec().registry(), spec_json(r.spec()),
                static_cast<long long>(at_ms), static_cast<long long>(seq));
    current = Current{true, "requested", r.tenant(), r.project()};
  }
  history(seq, e.build_id(), "requested", "", "requested", created, "", t.actor(), at_ms);
}

void BatchApplier::apply_step(std::uint64_t seq, const v1::Envelope& e, bool live,
                              std::int64_t at_ms) {
  const long long s = static_cast<long long>(seq);
  if (e.has_step_started()) {
    const auto& st = e.step_started();
    script_.add(stmt::kStepStarted, e.build_id(), st.step(), st.total(), st.instruction(),
                static_cast<long long>(at_ms),
                "step " + std::to_string(st.step()) + "/" + std::to_string(st.total()) + ": " +
                    st.instruction(),
                s, live);
    return;
  }
  const auto& sf = e.step_finished();
  const int progress = sf.total() > 0 ? std::clamp(sf.step() * 100 / sf.total(), 0, 100) : 0;
  script_.add(stmt::kStepFinished, e.build_id(), sf.step(), sf.total(), sf.instruction(),
              sf.cached(), static_cast<long long>(sf.duration_ms()), sf.layer_digest(),
              static_cast<long long>(at_ms), progress, s, live && sf.total() > 0);
}

void BatchApplier::apply_transition(std::uint64_t seq, const v1::Envelope& e,
                                    const std::string& status, std::int64_t at_ms) {
  Current& current = current_[e.build_id()];
  const std::string from = current.status;
  // Forward only: a late event (a `started` after `cancelled`, a redelivered `queued`) is history.
  const bool live = current.exists && !is_terminal(current.status);
  const bool advances = live && status_rank(status) > status_rank(current.status);
  const std::string next = advances ? status : current.status;
  const long long s = static_cast<long long>(seq);
  const long long at = static_cast<long long>(at_ms);
  std::string reason;
  const std::string& actor = e.producer();

  switch (e.payload_case()) {
    case v1::Envelope::kQueued:
      reason = e.queued().held_by().empty() ? "" : "held by " + e.queued().held_by() + " limit";
      if (advances) {
        script_.add(stmt::kQueued, e.build_id(), next, at, e.queued().position(),
                    e.queued().held_by(), s);
      }
      break;
    case v1::Envelope::kDispatched:
      if (live) {
        script_.add(stmt::kDispatched, e.build_id(), next, at, e.dispatched().attempt(), advances,
                    s);
      }
      break;
    case v1::Envelope::kStarted:
      if (live) {
        script_.add(stmt::kStarted, e.build_id(), next, at, e.started().worker_id(),
                    e.started().attempt(), e.started().resolved_commit(), advances, s);
      }
      break;
    case v1::Envelope::kBuilt: {
      const auto& b = e.built();
      if (live) {
        script_.add(stmt::kBuilt, e.build_id(), next, at, b.manifest_digest(), b.steps_total(),
                    b.steps_cached(), static_cast<long long>(b.build_duration_ms()),
                    static_cast<long long>(b.image_size()), s);
      }
      break;
    }
    case v1::Envelope::kPushed: {
      const auto& p = e.pushed();
      const std::string url = p.images().empty() ? "" : p.images(0).url();
      if (live) {
        script_.add(stmt::kPushed, e.build_id(), next, url, p.digest(),
                    static_cast<long long>(p.bytes_uploaded()),
                    static_cast<long long>(p.bytes_skipped()),
                    static_cast<long long>(p.push_duration_ms()), s);
      }
      break;
    }
    case v1::Envelope::kSucceeded:
      if (advances) {
        script_.add(stmt::kSucceeded, e.build_id(), next, at, e.succeeded().image_url(),
                    e.succeeded().digest(), s);
      }
      break;
    case v1::Envelope::kFailed:
      reason = e.failed().reason();
      if (advances) {
        script_.add(stmt::kFailed, e.build_id(), next, at,
                    std::string(events::stage_name(e.failed().stage())), reason,
                    e.failed().exit_code(), s);
      }
      break;
    case v1::Envelope::kCancelled:
      reason = e.cancelled().reason();
      if (advances) {
        script_.add(stmt::kCancelled, e.build_id(), next, at,
                    std::string(events::stage_name(e.cancelled().stage())), reason, s);
      }
      break;
    default:
      break;
  }
  if (live) current.status = next;
  history(seq, e.build_id(), events::type_name(e.payload_case()), from, status, advances, reason,
          actor, at_ms);
  if (advances && is_terminal(status)) finish(e.build_id(), at_ms);
}

// Writes the result row of a build that just finished and marks its day for the rollup. The day
// is finished_at's, which the terminal event has just set to `finished_at_ms`.
void BatchApplier::finish(const std::string& build_id, std::int64_t finished_at_ms) {
  script_.add(stmt::kFinish, build_id);
  const Current& current = current_[build_id];
  const std::string day = utc_day(finished_at_ms);
  rollups_.insert({day, current.tenant, current.project});
  rollups_.insert({day, current.tenant, "*"});
}

void BatchApplier::recompute_rollups() {
  for (const auto& key : rollups_) script_.add(stmt::kRollup, key.day, key.tenant, key.project);
  rollups_.clear();
}

void BatchApplier::finish_batch() {
  flush_history();
  recompute_rollups();
  script_.run();
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
  const auto rows = tx.exec_params("SELECT last_seq FROM projection_checkpoint WHERE name = $1",
                                   std::string(kCheckpointName));
  return rows.empty() ? 0 : rows[0][0].as<std::uint64_t>();
}

BatchResult apply_batch(pqxx::work& tx, std::uint64_t checkpoint, std::vector<StoredEvent> events) {
  std::sort(events.begin(), events.end(),
            [](const StoredEvent& a, const StoredEvent& b) { return a.seq < b.seq; });
  BatchResult result;
  result.checkpoint = checkpoint;
  stmt::prepare_statements(tx.conn());
  std::vector<std::pair<const StoredEvent*, Result<v1::Envelope>>> fresh;
  std::vector<std::string> build_ids;
  for (const auto& event : events) {
    if (event.seq <= result.checkpoint) {
      ++result.skipped;  // a redelivery, a replay, or a duplicate inside this batch
      continue;
    }
    result.checkpoint = event.seq;
    auto decoded = events::decode(event.data);
    if (decoded.ok()) build_ids.push_back(decoded->build_id());
    fresh.emplace_back(&event, std::move(decoded));
  }
  BatchApplier applier(tx);
  if (!build_ids.empty()) applier.prefetch(build_ids);
  for (const auto& [event, decoded] : fresh) applier.apply(*event, decoded);
  result.applied = fresh.size();
  applier.finish_batch();
  if (result.checkpoint != checkpoint) {
    tx.exec_params(
        "INSERT INTO projection_checkpoint (name, last_seq) VALUES ($1, $2)"
        " ON CONFLICT (name) DO UPDATE SET last_seq = EXCLUDED.last_seq",
        std::string(kCheckpointName), static_cast<long long>(result.checkpoint));
  }
  return result;
}

}  // namespace kiln::analytics
