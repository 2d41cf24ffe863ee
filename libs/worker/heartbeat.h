// Sends in-progress acks for a message while its job runs, so the consumer's AckWait does not
// hand it to another replica. Runs from construction to destruction on a thread of its own; a
// failed in-progress ack is logged as a warning and the next one is tried (the worst outcome is a
// redelivery, which the idempotent handlers absorb), so nothing is returned.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "bus/message.h"

namespace kiln::worker {

class Heartbeat {
 public:
  // `message` must outlive this object; `interval` must stay below the consumer's AckWait.
  Heartbeat(bus::Message& message, std::chrono::milliseconds interval);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace kiln::worker
