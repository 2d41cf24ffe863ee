#include "scheduler/scheduler_runner.h"

#include "bus/topology.h"
#include "common/ids.h"
#include "common/log.h"
#include "events/envelope.h"
#include "project/project.h"
#include "scheduler/dispatch_actions.h"
#include "scheduler/metrics.h"
#include "scheduler/schedule_request.h"

namespace kiln::scheduler {
namespace {

constexpr char kEventsFilter[] = "kiln.build.>";
constexpr int kIdleReadMs = 20;  // how long the loop waits for new events when idle
constexpr int kMaxBatch = 1000;  // events applied between two decisions at most
constexpr int kCatchUpReadMs = 500;
constexpr int kCatchUpStallReads = 6;  // empty reads before catch-up gives up waiting for a gap

}  // namespace

SchedulerRunner::SchedulerRunner(bus::Bus& bus, RunnerOptions options, http::Metrics* metrics)
    : bus_(bus),
      options_(std::move(options)),
      metrics_(metrics),
      lease_(bus,
             LeaseOptions{.holder = options_.instance, .stale_after = options_.lease_stale_after}) {
  if (!options_.now_ms) options_.now_ms = [] { return kiln::now_ms(); };
}

SchedulerRunner::~SchedulerRunner() { stop(); }

Status SchedulerRunner::start() {
  auto publisher = bus::AsyncPublisher::create(bus_);
  if (!publisher.ok()) return publisher.error();
  publisher_ = std::move(publisher.value());
  if (auto started = lease_.start(); !started.ok()) return started;
  thread_ = std::thread([this] { run(); });
  return {};
}

void SchedulerRunner::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  lease_.stop();
}

Status SchedulerRunner::readiness() const {
  if (ready_) return {};
  return make_error(ErrorCode::kUnavailable, "the event log has not been read up to date yet");
}

void SchedulerRunner::run() {
  while (!stopping()) {
    if (!reader_ && !rebuild()) {
      // Each try asks the server for a consumer over the whole log: back off, 1 s doubling to
      // 30 s, so a struggling server is not kept busy by the retries themselves.
      const int waits = 10 * std::min(30, 1 << std::min(failed_rebuilds_++, 5));
      for (int i = 0; i < waits && !stopping(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      continue;
    }
    failed_rebuilds_ = 0;
    if (!read_log(kIdleReadMs)) {
      reader_.reset();
      continue;
    }
    watch_projects();
    if (!reader_) continue;
    watch_workers();
    if (!reader_) continue;
    const bool leader = lease_.leader();
    if (leader != was_leader_.exchange(leader)) {
      log::info(leader ? "deciding as leader" : "standing by", {{"instance", options_.instance}});
    }
    if (leader) {
      const std::uint64_t term = lease_.term();
      if (term != decided_term_) {
        // A new leader decides only on the whole log: the previous leader's last decisions
        // may still be on their way to this reader.
        auto target = bus::last_stream_sequence(bus_, bus::kEventsStream);
        if (!target.ok() || !catch_up(*target)) {
          if (!target.ok())
            log::error("reading the stream state failed", {{"error", target.error().describe()}});
          reader_.reset();
          continue;
        }
        decided_term_ = term;
      }
      const std::int64_t now = options_.now_ms();
      if (!fire_schedules(now) || !dispatch(now)) {
        // What was decided but not published lives only in this state: re-derive it from the log.
        reader_.reset();
        continue;
      }
      maybe_snapshot();
    }
    publish_gauges();
  }
}

bool SchedulerRunner::rebuild() {
  ready_ = false;
  decided_term_ = 0;
  auto target = bus::last_stream_sequence(bus_, bus::kEventsStream);
  if (!target.ok()) {
    log::error("reading the stream state failed", {{"error", target.error().describe()}});
    return false;
  }
  const std::uint64_t from = load_snapshot(*target);
  auto reader = bus::SubjectReader::open(bus_, bus::kEventsStream, kEventsFilter,
                                         bus::SubjectReader::Start::kSequence, from + 1);
  if (!reader.ok()) {
    log::error("opening the event log failed", {{"error", reader.error().describe()}});
    return false;
  }
  reader_ = std::move(reader.value());
  if (!catch_up(*target)) {
    reader_.reset();
    return false;
  }
  if (!open_watchers()) {
    reader_.reset();
    return false;
  }
  state_->refresh_liveness(options_.now_ms());
  log::info("state rebuilt from the event log",
            {{"snapshot_sequence", static_cast<std::int64_t>(from)},
             {"sequence", static_cast<std::int64_t>(applied_seq_)},
             {"events_read", static_cast<std::int64_t>(applied_seq_ - from)},
             {"queued", state_->queued_count()},
             {"running", state_->running_count()},
             {"known", state_->known_count()}});
  if (metrics_) {
    metrics_->gauge_set(metric::kRecoveryEvents, static_cast<double>(applied_seq_ - from));
  }
  ready_ = true;
  return true;
}

std::uint64_t SchedulerRunner::load_snapshot(std::uint64_t target) {
  state_ = std::make_unique<DispatchState>(options_.limits);
  log_state_ = std::make_unique<DispatchState>(options_.limits);
  book_.clear_fires();
  log_fires_.clear();
  applied_seq_ = 0;
  snapshot_seq_ = 0;
  if (options_.snapshot_every_events == 0) return 0;
  if (!snapshots_) {
    auto opened = SnapshotStore::open(bus_);
    if (!opened.ok()) {
      log::warn("opening the snapshot bucket failed; reading the whole log",
                {{"error", opened.error().describe()}});
      return 0;
    }
    snapshots_ = std::move(opened.value());
  }
  auto loaded = snapshots_->load();
  if (!loaded.ok()) {
    log::warn("reading the snapshot failed; reading the whole log",
              {{"error", loaded.error().describe()}});
    return 0;
  }
  if (!loaded->has_value()) return 0;
  const auto& snapshot = **loaded;
  if (snapshot.sequence() > target) {
    // The stream is younger than the snapshot (recreated): the snapshot describes another log.
    log::warn("scheduler snapshot is past the end of the log; reading the whole log",
              {{"snapshot_sequence", static_cast<std::int64_t>(snapshot.sequence())},
               {"last_sequence", static_cast<std::int64_t>(target)}});
    return 0;
  }
  state_->restore(snapshot);
  log_state_->restore(snapshot);
  for (const auto& [schedule, fire_ms] : snapshot.last_fires()) {
    book_.record_fire(schedule, fire_ms);
    log_fires_[schedule] = fire_ms;
  }
  applied_seq_ = snapshot.sequence();
  snapshot_seq_ = snapshot.sequence();
  return snapshot.sequence();
}

void SchedulerRunner::maybe_snapshot() {
  if (!snapshots_ || options_.snapshot_every_events == 0 ||
      applied_seq_ < snapshot_seq_ + options_.snapshot_every_events) {
    return;
  }
  auto snapshot = log_state_->snapshot();
  snapshot.set_sequence(applied_seq_);
  for (const auto& [schedule, fire_ms] : log_fires_)
    (*snapshot.mutable_last_fires())[schedule] = fire_ms;
  snapshot.set_written_ms(options_.now_ms());
  snapshot.set_written_by(options_.instance);
  // Not fatal either way: the log stays the truth, a missed snapshot only makes a start longer.
  snapshot_seq_ = applied_seq_;
  if (auto saved = snapshots_->save(snapshot); !saved.ok()) {
    log::warn("writing the scheduler snapshot failed", {{"error", saved.error().describe()}});
    if (metrics_) metrics_->counter_add(metric::kSnapshotWrites, {{"outcome", "failed"}});
    return;
  }
  if (metrics_) {
    metrics_->counter_add(metric::kSnapshotWrites, {{"outcome", "written"}});
    metrics_->gauge_set(metric::kSnapshotSequence, static_cast<double>(applied_seq_));
  }
  log::info("scheduler snapshot written", {{"sequence", static_cast<std::int64_t>(applied_seq_)},
                                           {"live", snapshot.builds_size()},
                                           {"finished", snapshot.tombstones_size()}});
}

bool SchedulerRunner::catch_up(std::uint64_t target) {
  int empty_reads = 0;
  while (applied_seq_ < target && !stopping()) {
    const std::uint64_t before = applied_seq_;
    if (!read_log(kCatchUpReadMs)) return false;
    empty_reads = applied_seq_ == before ? empty_reads + 1 : 0;
    if (empty_reads >= kCatchUpStallReads) {
      // Only possible when the last messages were removed from the stream.
      log::warn("event log ended before its last sequence; continuing",
                {{"applied", static_cast<std::int64_t>(applied_seq_)},
                 {"target", static_cast<std::int64_t>(target)}});
      break;
    }
  }
  return !stopping();
}

bool SchedulerRunner::read_log(int first_timeout_ms) {
  int timeout = first_timeout_ms;
  for (int i = 0; i < kMaxBatch; ++i) {
    auto next = reader_->next(timeout);
    if (!next.ok()) {
      log::error("reading the event log failed", {{"error", next.error().describe()}});
      return false;
    }
    if (!next->has_value()) return true;
    apply(**next);
    timeout = 0;
  }
  return true;
}

void SchedulerRunner::apply(const bus::Message& message) {
  applied_seq_ = message.stream_sequence();
  auto envelope = events::decode(message.data());
  if (!envelope.ok()) {
    // An ordered reader cannot terminate a message; the log keeps it, we say so and go on.
    log::error("undecodable event skipped",
               {{"subject", std::string(message.subject())},
                {"sequence", static_cast<std::int64_t>(message.stream_sequence())},
                {"error", envelope.error().describe()}});
    return;
  }
  // The earlier of the stream's and the producer's clock: a producer clock running ahead cannot
  // make the state forget finished builds early, and a history imported with its own times (the
  // bench) ages by them.
  const std::int64_t log_ms =
      std::min(message.timestamp_ns() / 1'000'000, envelope->occurred_at_ms() > 0
                                                       ? envelope->occurred_at_ms()
                                                       : message.timestamp_ns() / 1'000'000);
  state_->apply(*envelope, log_ms);
  log_state_->apply(*envelope, log_ms);
  // Live, a worker's `started` counts from its arrival; during a replay refresh_liveness() does.
  if (ready_ && envelope->has_started()) state_->vouch(envelope->build_id(), options_.now_ms());
  if (envelope->has_requested() &&
      envelope->requested().trigger().kind() == v1::Trigger::SCHEDULE) {
    const auto& trigger = envelope->requested().trigger();
    book_.record_fire(trigger.schedule_id(), trigger.fire_time_ms());
    auto& last = log_fires_[trigger.schedule_id()];
    last = std::max(last, trigger.fire_time_ms());
  }
}

bool SchedulerRunner::open_watchers() {
  auto open_bucket = [this](const char* name, const bus::KeyValue::Options& bucket_options,
                            std::unique_ptr<bus::KeyValue>& bucket,
                            std::unique_ptr<bus::KvWatcher>& watcher) {
    if (!bucket) {
      auto opened = bus::KeyValue::open(bus_, name, bucket_options);
      if (!opened.ok()) {
        log::error("opening a bucket failed",
                   {{"bucket", name}, {"error", opened.error().describe()}});
        return false;
      }
      bucket = std::move(opened.value());
    }
    if (!watcher) {
      auto watching = bucket->watch_all();
      if (!watching.ok()) {
        log::error("watching a bucket failed",
                   {{"bucket", name}, {"error", watching.error().describe()}});
        return false;
      }
      watcher = std::move(watching.value());
    }
    return true;
  };
  return open_bucket(bus::kProjectsBucket, {}, projects_, watcher_) &&
         open_bucket(bus::kWorkersBucket, bus::workers_bucket_options(), workers_,
                     workers_watcher_);
}

void SchedulerRunner::watch_workers() {
  for (int i = 0; i < kMaxBatch; ++i) {
    auto next = workers_watcher_->next(1);
    if (!next.ok()) {
      log::error("watching worker heartbeats failed", {{"error", next.error().describe()}});
      workers_watcher_.reset();
      reader_.reset();  // rebuild() opens a new watcher and refreshes liveness
      return;
    }
    if (!next->has_value()) return;
    const bus::KvEntry& entry = **next;
    if (entry.key.empty() || entry.deleted) continue;
    v1::WorkerHeartbeat heartbeat;
    if (!heartbeat.ParseFromString(entry.value)) {
      log::warn("undecodable worker heartbeat skipped", {{"key", entry.key}});
      continue;
    }
    state_->observe_heartbeat(heartbeat, options_.now_ms());
  }
}

void SchedulerRunner::watch_projects() {
  for (int i = 0; i < kMaxBatch; ++i) {
    auto next = watcher_->next(1);
    if (!next.ok()) {
      log::error("watching projects failed", {{"error", next.error().describe()}});
      watcher_.reset();
      reader_.reset();  // rebuild() opens a new watcher
      return;
    }
    if (!next->has_value()) return;
    const bus::KvEntry& entry = **next;
    if (entry.key.empty()) continue;  // end of the initial values
    if (entry.deleted) {
      book_.remove_project(entry.key);
      log::info("project removed; its schedules stop", {{"project", entry.key}});
      continue;
    }
    auto project = project::parse_project(entry.value);
    if (!project.ok()) {
      log::error("invalid project configuration; keeping its previous schedules",
                 {{"project", entry.key}, {"error", project.error().describe()}});
      continue;
    }
    for (const auto& error : book_.set_project(*project, options_.now_ms())) {
      log::error("schedule cannot run", {{"project", entry.key}, {"error", error.describe()}});
    }
    log::info("project schedules loaded",
              {{"project", entry.key}, {"schedules", project->schedules.size()}});
  }
}

bool SchedulerRunner::fire_schedules(std::int64_t now) {
  const auto fires = book_.due(now, options_.catch_up_grace_ms);
  if (fires.empty()) return true;
  for (const auto& fire : fires) {
    auto request = make_scheduled_request(fire, options_.default_registry, options_.instance, now);
    if (auto sent = publisher_->publish(request.subject, request.data, request.msg_id);
        !sent.ok()) {
      log::error("publishing a schedule fire failed",
                 {{"schedule_id", fire.schedule_id}, {"error", sent.error().describe()}});
      (void)publisher_->wait();
      return false;
    }
    state_->apply(request.envelope);
    if (metrics_) {
      metrics_->counter_add(metric::kScheduleFires,
                            {{"catch_up", fire.catch_up ? "true" : "false"}});
    }
    log::info("schedule fired", {{"schedule_id", fire.schedule_id},
                                 {"build_id", request.envelope.build_id()},
                                 {"fire_time", format_time_ms(fire.fire_ms)},
                                 {"catch_up", fire.catch_up}});
  }
  return flush("schedule fires");
}

// Waits for the acks of everything published since the last flush; any failure means the state
// holds decisions the log may not: the caller rebuilds.
bool SchedulerRunner::flush(const char* what) {
  auto stats = publisher_->wait();
  if (!stats.ok()) {
    log::error("waiting for publish acks failed",
               {{"what", what}, {"error", stats.error().describe()}});
    return false;
  }
  if (stats->failed > 0) {
    log::error("publishing failed", {{"what", what},
                                     {"failed", static_cast<std::int64_t>(stats->failed)},
                                     {"error", stats->first_error}});
    return false;
  }
  return true;
}

bool SchedulerRunner::dispatch(std::int64_t now) {
  const auto actions = state_->decide(now);
  if (actions.empty()) return true;
  // Published asynchronously in order on one connection (the stream stores them in that order),
  // then all acks awaited: a burst costs one round trip, not one per event.
  for (const auto& action : actions) {
    auto envelope = to_envelope(action, options_.instance, now);
    auto encoded = events::encode(envelope);
    if (auto sent = publisher_->publish(encoded.subject, encoded.data, encoded.msg_id);
        !sent.ok()) {
      log::error("publishing a decision failed", {{"build_id", action.build_id},
                                                  {"type", std::string(kind_name(action.kind))},
                                                  {"error", sent.error().describe()}});
      (void)publisher_->wait();
      return false;
    }
    if (metrics_) {
      metrics_->counter_add(metric::kDecisions, {{"type", std::string(kind_name(action.kind))}});
      if (action.kind == Action::Kind::kDispatched && action.attempt == 1) {
        metrics_->observe(metric::kDispatchLatency,
                          static_cast<double>(now - action.requested_ms) / 1000.0);
      }
    }
    const auto level =
        action.kind == Action::Kind::kQueued ? log::Level::kDebug : log::Level::kInfo;
    log::write(level, "decision published",
               {{"build_id", action.build_id},
                {"project", action.project},
                {"type", std::string(kind_name(action.kind))},
                {"attempt", action.attempt},
                {"held_by", action.held_by},
                {"reason", action.reason}});
  }
  return flush("decisions");
}

void SchedulerRunner::publish_gauges() {
  if (!metrics_) return;
  metrics_->gauge_set(metric::kQueueDepth, static_cast<double>(state_->queued_count()));
  metrics_->gauge_set(metric::kRunning, static_cast<double>(state_->running_count()));
  metrics_->gauge_set(metric::kLeader, was_leader_ ? 1 : 0);
  metrics_->gauge_set(metric::kSchedules, static_cast<double>(book_.size()));
  metrics_->gauge_set(metric::kKnownBuilds, static_cast<double>(state_->known_count()));
}

}  // namespace kiln::scheduler
