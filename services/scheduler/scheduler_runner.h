// SchedulerRunner: the scheduler's moving parts around the pure cores (DispatchState,
// ScheduleBook).
//
//   1. Rebuilds its state from the newest snapshot (snapshot_store.h) and the log after it (or
//      the whole log of KILN_EVENTS, kiln.build.>, when there is none) up to the stream's last
//      sequence, and only then starts deciding; afterwards it keeps reading the same ordered
//      reader live. Decisions are re-derived from the log, so no durable consumer is needed. The
//      leader writes a snapshot every `snapshot_every_events`, taken from a second state fed by
//      the log alone, so a decision not yet back from the log is never taken for a fact.
//   2. Watches the kiln_projects bucket for schedules (edits take effect without a restart), and
//      the kiln_workers bucket for worker heartbeats (which attempts are alive, whatever their
//      builds print).
//   3. While it holds the leader lease: fires due cron ticks and publishes the dispatcher's
//      decisions. A standby applies the same log and stays current; when it becomes leader it first
//      reads up to the stream's last sequence, so it never decides on a stale view.
//   Every publish carries a deterministic Nats-Msg-Id, so two leaders for a moment, or a restart
//   re-deciding, store each fact once. If a publish fails, the state is rebuilt from the log.
//
// One thread reads, decides and publishes; the lease heartbeats on its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "bus/bus.h"
#include "bus/consumer.h"
#include "bus/kv.h"
#include "common/result.h"
#include "http/metrics.h"
#include "scheduler/dispatch_state.h"
#include "scheduler/leader_lease.h"
#include "scheduler/schedule_book.h"
#include "scheduler/snapshot_store.h"
#include "service/service.h"

namespace kiln::scheduler {

struct RunnerOptions {
  std::string instance = "scheduler";  // producer of its events and lease holder
  DispatchLimits limits;
  // Registry for scheduled builds whose project names none.
  std::string default_registry = service::kDefaultRegistry;
  std::chrono::seconds lease_stale_after{6};
  // Events between two snapshots (0: none are written; a start reads the whole log).
  std::uint64_t snapshot_every_events = 10'000;
  // A tick fired later than this after its time is flagged catch_up.
  std::int64_t catch_up_grace_ms = 60'000;
  // The clock for cron, timeouts and the events it publishes (tests move it forward).
  std::function<std::int64_t()> now_ms;  // empty: kiln::now_ms
};

class SchedulerRunner {
 public:
  // `metrics` may be null; when set it must outlive the runner.
  SchedulerRunner(bus::Bus& bus, RunnerOptions options, http::Metrics* metrics = nullptr);
  ~SchedulerRunner();
  SchedulerRunner(const SchedulerRunner&) = delete;
  SchedulerRunner& operator=(const SchedulerRunner&) = delete;

  // Starts the lease and the worker thread; returns at once (ready() tells when the log is read).
  Status start();
  // Stops deciding, releases the lease, joins the threads. Idempotent.
  void stop();

  bool ready() const { return ready_.load(); }
  bool leader() const { return lease_.leader(); }
  // For /readyz: the log has been read up to where it was at start.
  Status readiness() const;

 private:
  void run();
  bool rebuild();
  bool catch_up(std::uint64_t target);
  void apply(const bus::Message& message);
  bool read_log(int first_timeout_ms);
  void watch_projects();
  void watch_workers();
  bool open_watchers();
  bool fire_schedules(std::int64_t now);
  bool dispatch(std::int64_t now);
  void publish_gauges();
  // Loads the newest snapshot not past `target` into fresh states; returns its sequence (0: none).
  std::uint64_t load_snapshot(std::uint64_t target);
  void maybe_snapshot();
  bool stopping() const { return stopping_.load(); }

  bus::Bus& bus_;
  RunnerOptions options_;
  http::Metrics* metrics_;
  LeaderLease lease_;

  bool flush(const char* what);

  std::unique_ptr<bus::AsyncPublisher> publisher_;
  std::unique_ptr<bus::SubjectReader> reader_;
  std::unique_ptr<bus::KeyValue> projects_;
  std::unique_ptr<bus::KvWatcher> watcher_;
  std::unique_ptr<bus::KeyValue> workers_;
  std::unique_ptr<bus::KvWatcher> workers_watcher_;
  std::unique_ptr<DispatchState> state_;
  // The same fold of the log without the leader's own decisions: what snapshots are made of.
  std::unique_ptr<DispatchState> log_state_;
  std::map<std::string, std::int64_t> log_fires_;  // schedule id -> last tick in the log
  std::unique_ptr<SnapshotStore> snapshots_;
  std::uint64_t snapshot_seq_ = 0;
  int failed_rebuilds_ = 0;  // in a row, for the retry backoff
  ScheduleBook book_;
  std::uint64_t applied_seq_ = 0;
  std::uint64_t decided_term_ = 0;

  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> ready_{false};
  std::atomic<bool> was_leader_{false};
};

}  // namespace kiln::scheduler
