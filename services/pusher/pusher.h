// kiln-pusher assembled: its HTTP server, the registry clients, the cancel watcher, the push
// worker and the worker's heartbeat. main() and the integration tests construct it the same way.
#pragma once

#include "bus/bus.h"
#include "http/server.h"
#include "pusher/cancel_watcher.h"
#include "pusher/options.h"
#include "pusher/staging_sweep.h"
#include "pusher/worker.h"
#include "registry/clients.h"
#include "worker/presence.h"
#include "worker/running_jobs.h"

namespace kiln::pusher {

class Pusher {
 public:
  // `bus` must outlive this object.
  Pusher(const PusherOptions& options, bus::Bus& bus);
  ~Pusher() { stop(); }
  Pusher(const Pusher&) = delete;
  Pusher& operator=(const Pusher&) = delete;

  // Binds the consumer, starts the slots, the heartbeat and the HTTP server; throws StartupError.
  void start();
  // Hands running pushes back (nak) and stops every part. Idempotent.
  void stop();

  int port() const { return server_.port(); }
  http::Metrics& metrics() { return server_.metrics(); }
  const worker::RunningJobs& running() const { return running_; }
  Worker& worker() { return worker_; }

 private:
  const PusherOptions options_;
  http::Server server_;
  registry::RegistryClients registries_;
  worker::RunningJobs running_;
  CancelWatcher cancels_;
  Worker worker_;
  worker::Presence presence_;
  StagingSweeper sweeper_;
  bool stopped_ = false;
};

}  // namespace kiln::pusher
