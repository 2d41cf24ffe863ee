// A worker's heartbeat in KV bucket kiln_workers (kiln.events.v1.WorkerHeartbeat under the
// worker id): who it is, its slots and the build attempts it runs, rewritten every `interval` on
// a thread of its own. The scheduler reads these to tell a silent build step (the worker still
// lists the attempt) from a lost worker (nothing lists it any more); see docs/design.md
// "Fences, idempotency and liveness".
//
// Errors: start() returns the Status of opening the bucket and the first put; later failed puts
// are logged and retried at the next interval (a missed beat only brings a lost verdict closer,
// and worker-lost-seconds spans several intervals).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "bus/bus.h"
#include "bus/kv.h"
#include "common/result.h"
#include "worker/running_jobs.h"

namespace kiln::worker {

struct PresenceOptions {
  std::string worker_id;
  std::string kind;  // builder | pusher
  int slots = 1;
  std::chrono::milliseconds interval{5000};
};

class Presence {
 public:
  // `running` must outlive this object.
  Presence(bus::Bus& bus, PresenceOptions options, const RunningJobs& running);
  ~Presence() { stop(); }
  Presence(const Presence&) = delete;
  Presence& operator=(const Presence&) = delete;

  Status start();
  // Marks the worker stopping (it still lists what it hands back).
  void set_stopping();
  // Sends a last heartbeat with state `stopped` and no attempts, and joins. Idempotent.
  void stop();

 private:
  Status beat(const std::string& state);
  void run();

  bus::Bus& bus_;
  const PresenceOptions options_;
  const RunningJobs& running_;
  const std::string key_;
  const std::string host_;
  const std::int64_t started_at_ms_;
  std::unique_ptr<bus::KeyValue> bucket_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

// The KV key of a worker id: ids may hold characters a key may not ('/', ' '), so every byte
// outside [A-Za-z0-9_-] becomes '_'. The heartbeat itself carries the exact id.
std::string worker_key(const std::string& worker_id);

}  // namespace kiln::worker
