#include "pusher/worker.h"

#include <condition_variable>
#include <mutex>

#include "bus/consumer.h"
#include "bus/topology.h"
#include "common/log.h"
#include "events/envelope.h"
#include "events/subjects.h"
#include "pusher/push_job.h"

namespace kiln::pusher {
namespace {

constexpr int kFetchTimeoutMs = 1000;
constexpr int kRetryDelayMs = 5000;

// Sends in-progress acks while a push runs, so AckWait does not hand it to another replica.
class Heartbeat {
 public:
  Heartbeat(bus::Message& message, int interval_seconds) {
    thread_ = std::thread([this, &message, interval_seconds] {
      std::unique_lock lock(mutex_);
      while (!cv_.wait_for(lock, std::chrono::seconds(interval_seconds), [this] { return done_; })) {
        if (auto s = message.in_progress(); !s.ok()) {
          log::warn("in-progress ack failed", {{"error", s.error().describe()}});
        }
      }
    });
  }
  ~Heartbeat() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

void settle(bus::Message& message, Settle how, const std::string& build_id) {
  Status status;
  const char* what = "ack";
  switch (how) {
    case Settle::kAck: status = message.ack(); break;
    case Settle::kNak: status = message.nak(0); what = "nak"; break;
    case Settle::kNakLater: status = message.nak(kRetryDelayMs); what = "nak"; break;
  }
  if (!status.ok()) {
    // The server redelivers after AckWait: the job is idempotent, so this only costs time.
    log::warn(std::string(what) + " failed",
              {{"build_id", build_id}, {"error", status.error().describe()}});
  }
}

}  // namespace

Worker::Worker(bus::Bus& bus, RegistryClients& registries, const PusherOptions& options,
               http::Metrics& metrics, std::string producer, RunningPushes& running)
    : bus_(bus), registries_(registries), options_(options), metrics_(metrics),
      producer_(std::move(producer)), running_(running) {}

Status Worker::start() {
  if (auto s = bus::ensure_consumer(bus_, bus::pusher_consumer()); !s.ok()) return s;
  metrics_.gauge_set("kiln_pusher_slots", "Push slots of this replica", options_.slots);
  metrics_.gauge_set("kiln_pusher_slots_busy", "Push slots running a push", 0);
  for (int slot = 0; slot < options_.slots; ++slot) {
    threads_.emplace_back([this, slot] { slot_loop(slot); });
  }
  return {};
}

void Worker::stop() {
  stopping_.store(true);
  handing_back_.store(true);
  running_.cancel_all();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

void Worker::slot_loop(int slot) {
  std::unique_ptr<bus::PullConsumer> consumer;
  while (!stopping_.load()) {
    if (!consumer) {
      auto bound = bus::PullConsumer::bind(bus_, bus::pusher_consumer());
      if (!bound.ok()) {
        log::warn("binding the pusher consumer failed; retrying",
                  {{"slot", slot}, {"error", bound.error().describe()}});
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      consumer = std::move(bound.value());
    }
    auto batch = consumer->fetch(1, kFetchTimeoutMs);
    if (!batch.ok()) {
      log::warn("fetching built images failed; retrying", {{"error", batch.error().describe()}});
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    for (auto& message : *batch) {
      if (stopping_.load()) {
        settle(message, Settle::kNak, "");
        continue;
      }
      handle(message);
    }
  }
}

void Worker::handle(bus::Message& message) {
  auto decoded = events::decode(message.data());
  if (!decoded.ok() || !decoded->has_built() || !events::valid_token(decoded->build_id())) {
    log::error("undecodable built message; terminated",
               {{"subject", std::string(message.subject())}});
    metrics_.counter_add("kiln_pusher_pushes_total", "Builds handled by outcome",
                         {{"outcome", "undecodable"}});
    if (auto s = message.term(); !s.ok()) {
      log::warn("term failed", {{"error", s.error().describe()}});
    }
    return;
  }
  const std::string build_id = decoded->build_id();
  log::info("built image taken",
            {{"build_id", build_id},
             {"delivery", static_cast<std::int64_t>(message.deliveries())}});
  Settle how = Settle::kNakLater;
  {
    Heartbeat heartbeat(message, options_.heartbeat_seconds);
    const JobServices services{bus_, registries_, options_, metrics_, producer_, running_};
    PushJob job(services, std::move(decoded.value()), handing_back_);
    how = job.run();
  }
  settle(message, how, build_id);
}

}  // namespace kiln::pusher
