// Scheduler leadership: one key ("scheduler-leader") in the kiln_leases bucket, held by
// compare-and-set and renewed by a heartbeat.
//
//   * Absent (never taken, released, or expired by the bucket's TTL): create() it.
//   * Held by us: update() it with the revision we hold every stale_after/3. A failed update means
//     someone else took it: we step down.
//   * Held by another: take it over with update() on the revision we read, once that revision has
//     not changed for stale_after by OUR clock (no comparison of clocks across machines).
//
// leader() is also false once our last successful heartbeat is older than stale_after, so a leader
// cut off from NATS stops deciding before a standby can take over.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "bus/bus.h"
#include "bus/kv.h"

namespace kiln::scheduler {

struct LeaseOptions {
  std::string key = "scheduler-leader";
  std::string holder;  // this instance's id, stored in the value for operators
  std::chrono::milliseconds stale_after{6000};
};

class LeaderLease {
 public:
  LeaderLease(bus::Bus& bus, LeaseOptions options);
  ~LeaderLease();
  LeaderLease(const LeaderLease&) = delete;
  LeaderLease& operator=(const LeaderLease&) = delete;

  Status start();
  // Stops the heartbeat and releases the key when held, so a standby takes over at once.
  void stop();

  bool leader() const;
  // Counts acquisitions: a change tells the caller it has just become leader.
  std::uint64_t term() const { return term_.load(); }

 private:
  using Clock = std::chrono::steady_clock;
  void loop();
  void tick();
  void acquired(std::uint64_t revision);
  std::string value() const;

  bus::Bus& bus_;
  LeaseOptions options_;
  std::unique_ptr<bus::KeyValue> kv_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;

  std::atomic<bool> leader_{false};
  std::atomic<std::uint64_t> term_{0};
  std::atomic<std::int64_t> last_heartbeat_ns_{0};  // steady clock
  std::uint64_t revision_ = 0;                      // held revision
  std::uint64_t seen_revision_ = 0;  // another holder's revision, and since when we see it
  Clock::time_point seen_since_{};
  bool warned_ = false;
};

}  // namespace kiln::scheduler
