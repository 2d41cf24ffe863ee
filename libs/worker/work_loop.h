// The slot threads of a worker service: `slots` threads share one durable pull consumer (replicas
// share it too, which makes it a work queue), each binding it, fetching one message at a time and
// passing it to the handler. The handler settles the message itself (see settle.h). Once a stop
// is requested, a message fetched before the slot noticed is handed back (nak) unhandled.
//
// Errors: start() returns a kiln::Status (the durable could not be ensured). Later bind and fetch
// errors are logged with the service's own lines and retried every second; they never end a
// slot.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "bus/message.h"
#include "bus/topology.h"
#include "common/result.h"

namespace kiln::worker {

struct WorkLoopOptions {
  bus::ConsumerSpec consumer;    // the service's durable (bus::builder_consumer()...)
  int slots = 1;                 // messages handled at once by this replica
  int fetch_timeout_ms = 1000;   // also bounds how long a slot takes to notice a stop
  std::string bind_failed_log;   // warn, with slot and error, e.g. "binding ... failed; retrying"
  std::string fetch_failed_log;  // warn, with error
  // Runs once, when a stop is requested and before the slots are joined: where a service marks
  // that it is handing work back and cancels its running jobs, so no slot takes a new job after
  // the cancel and every running one ends soon.
  std::function<void()> on_stop;
};

class WorkLoop {
 public:
  using Handler = std::function<void(bus::Message&)>;

  // `handler` runs on the slot threads, up to `slots` at once.
  WorkLoop(bus::Bus& bus, WorkLoopOptions options, Handler handler);
  ~WorkLoop() { stop(); }
  WorkLoop(const WorkLoop&) = delete;
  WorkLoop& operator=(const WorkLoop&) = delete;

  // Ensures the durable exists, then starts the slot threads.
  Status start();
  // Slots stop fetching after the message they are handling; runs on_stop (the first time
  // only) and returns without waiting.
  void request_stop();
  // Waits for the slot threads.
  void join();
  // request_stop() then join(); safe to call twice.
  void stop() {
    request_stop();
    join();
  }
  bool stopping() const { return stopping_.load(); }

 private:
  void slot_loop(int slot);

  bus::Bus& bus_;
  const WorkLoopOptions options_;
  const Handler handler_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace kiln::worker
