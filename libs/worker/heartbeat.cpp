#include "worker/heartbeat.h"

#include "common/log.h"

namespace kiln::worker {

Heartbeat::Heartbeat(bus::Message& message, std::chrono::milliseconds interval) {
  thread_ = std::thread([this, &message, interval] {
    std::unique_lock lock(mutex_);
    while (!cv_.wait_for(lock, interval, [this] { return done_; })) {
      if (auto s = message.in_progress(); !s.ok()) {
        log::warn("in-progress ack failed", {{"error", s.error().describe()}});
      }
    }
  });
}

Heartbeat::~Heartbeat() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace kiln::worker
