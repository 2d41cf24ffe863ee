#include "worker/work_loop.h"

#include <memory>
#include <utility>

#include "bus/consumer.h"
#include "common/log.h"
#include "worker/settle.h"

namespace kiln::worker {
namespace {

constexpr auto kRetryPause = std::chrono::seconds(1);

}  // namespace

WorkLoop::WorkLoop(bus::Bus& bus, WorkLoopOptions options, Handler handler)
    : bus_(bus), options_(std::move(options)), handler_(std::move(handler)) {}

Status WorkLoop::start() {
  if (auto s = bus::ensure_consumer(bus_, options_.consumer); !s.ok()) return s;
  for (int slot = 0; slot < options_.slots; ++slot) {
    threads_.emplace_back([this, slot] { slot_loop(slot); });
  }
  return {};
}

void WorkLoop::request_stop() {
  if (!stopping_.exchange(true) && options_.on_stop) options_.on_stop();
}

void WorkLoop::join() {
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

void WorkLoop::slot_loop(int slot) {
  std::unique_ptr<bus::PullConsumer> consumer;
  while (!stopping_.load()) {
    if (!consumer) {
      auto bound = bus::PullConsumer::bind(bus_, options_.consumer);
      if (!bound.ok()) {
        log::warn(options_.bind_failed_log, {{"slot", slot}, {"error", bound.error().describe()}});
        std::this_thread::sleep_for(kRetryPause);
        continue;
      }
      consumer = std::move(bound.value());
    }
    auto batch = consumer->fetch(1, options_.fetch_timeout_ms);
    if (!batch.ok()) {
      log::warn(options_.fetch_failed_log, {{"error", batch.error().describe()}});
      std::this_thread::sleep_for(kRetryPause);
      continue;
    }
    for (auto& message : *batch) {
      if (stopping_.load()) {
        settle(message, Settle::kNak, "");
        continue;
      }
      handler_(message);
    }
  }
}

}  // namespace kiln::worker
