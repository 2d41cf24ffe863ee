// kiln-scheduler assembled: its HTTP server and the runner (cron schedules and the dispatcher).
// main() and the integration tests construct it the same way.
#pragma once

#include "bus/bus.h"
#include "http/server.h"
#include "scheduler/options.h"
#include "scheduler/scheduler_runner.h"

namespace kiln::scheduler {

class Scheduler {
 public:
  // `bus` must outlive this object.
  Scheduler(const SchedulerOptions& options, bus::Bus& bus);
  ~Scheduler() { stop(); }
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts the lease, the runner and the HTTP server; throws StartupError.
  void start();
  // Releases the lease and stops. Idempotent.
  void stop();

  int port() const { return server_.port(); }
  http::Metrics& metrics() { return server_.metrics(); }
  SchedulerRunner& runner() { return runner_; }

 private:
  http::Server server_;
  SchedulerRunner runner_;
  bool stopped_ = false;
};

}  // namespace kiln::scheduler
