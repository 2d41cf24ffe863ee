// Every replica reads all cancel requests from now on (an ephemeral reader, not the shared
// durable) and stops the push if it runs here. A request stored before the push was taken is
// caught by the job's own check after it registers the push.
#pragma once

#include <atomic>
#include <thread>

#include "bus/bus.h"
#include "pusher/running_pushes.h"

namespace kiln::pusher {

class CancelWatcher {
 public:
  CancelWatcher(bus::Bus& bus, RunningPushes& running) : bus_(bus), running_(running) {}
  ~CancelWatcher() { stop(); }
  CancelWatcher(const CancelWatcher&) = delete;
  CancelWatcher& operator=(const CancelWatcher&) = delete;

  // Subscribes before returning, so a cancel published after start() is seen.
  Status start();
  void stop();

 private:
  bus::Bus& bus_;
  RunningPushes& running_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace kiln::pusher
