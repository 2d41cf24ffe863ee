// Every replica reads all cancel requests (kiln.build.cancel_requested.*) from now on, with an
// ephemeral SubjectReader(kNew) rather than the shared durable, and cancels the job if it runs
// here. A request stored before the job was registered is caught by the worker's own check after
// it registers the job (registered first, checked second).
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "bus/bus.h"
#include "common/result.h"
#include "worker/running_jobs.h"

namespace kiln::worker {

// The log lines of one service, which differ between services and stay as they were.
struct CancelWatcherLogs {
  std::string cancelling;   // info, with build_id: a job running here is being cancelled
  std::string read_failed;  // warn, with error: reading the cancel requests failed (retried)
};

class CancelWatcher {
 public:
  CancelWatcher(bus::Bus& bus, RunningJobs& running, CancelWatcherLogs logs);
  ~CancelWatcher() { stop(); }
  CancelWatcher(const CancelWatcher&) = delete;
  CancelWatcher& operator=(const CancelWatcher&) = delete;

  // Subscribes before returning, so a cancel published after start() is seen; an error when
  // the reader cannot be opened. Read errors later are logged and retried every second.
  Status start();
  // Stops the thread (within the reader's poll interval, 200 ms); safe to call twice.
  void stop();

 private:
  bus::Bus& bus_;
  RunningJobs& running_;
  CancelWatcherLogs logs_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace kiln::worker
