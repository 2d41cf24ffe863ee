// Every replica reads all cancel requests from now on (an ephemeral reader, not the shared
// durable) and stops the build if it runs here. A request that arrived before the build started
// is caught by the worker's own check when it takes the build.
#pragma once

#include <atomic>
#include <thread>

#include "builder/running_builds.h"
#include "bus/bus.h"

namespace kiln::builder {

class CancelWatcher {
 public:
  CancelWatcher(bus::Bus& bus, RunningBuilds& running) : bus_(bus), running_(running) {}
  ~CancelWatcher() { stop(); }

  // Subscribes before returning, so a cancel published after start() is seen.
  Status start();
  void stop();

 private:
  bus::Bus& bus_;
  RunningBuilds& running_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace kiln::builder
