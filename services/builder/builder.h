// kiln-builder assembled: buildah, its HTTP server, the cancel watcher, the build worker and the
// worker's heartbeat. main() and the integration tests construct it the same way.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "builder/buildah_engine.h"
#include "builder/cancel_watcher.h"
#include "builder/options.h"
#include "builder/worker.h"
#include "bus/bus.h"
#include "http/server.h"
#include "worker/presence.h"
#include "worker/running_jobs.h"

namespace kiln::builder {

class Builder {
 public:
  // Resolves the options (see resolve(); throws StartupError). `bus` must outlive this object.
  Builder(const BuilderOptions& options, bus::Bus& bus);
  ~Builder() { stop(); }
  Builder(const Builder&) = delete;
  Builder& operator=(const Builder&) = delete;

  // Sweeps what a killed predecessor left, binds the consumer, starts the slots, the heartbeat
  // and the HTTP server; throws StartupError.
  void start();
  // Hands running builds back (nak) and stops every part. Idempotent.
  void stop();

  const BuilderOptions& options() const { return options_; }
  int port() const { return server_.port(); }
  http::Metrics& metrics() { return server_.metrics(); }
  BuildahEngine& engine() { return engine_; }
  const worker::RunningJobs& running() const { return running_; }
  Worker& worker() { return worker_; }

 private:
  enum class Sweep { kAtStart, kPeriodic };
  void sweep_leftovers(Sweep when);
  void sweep_periodically();

  const BuilderOptions options_;
  BuildahEngine engine_;
  http::Server server_;
  worker::RunningJobs running_;
  CancelWatcher cancels_;
  Worker worker_;
  worker::Presence presence_;
  std::mutex sweep_mutex_;
  std::condition_variable sweep_wake_;
  bool sweep_stop_ = false;
  std::thread sweeper_;
  bool stopped_ = false;
};

}  // namespace kiln::builder
