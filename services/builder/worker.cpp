#include "builder/worker.h"

#include <condition_variable>
#include <mutex>

#include "builder/build_job.h"
#include "bus/consumer.h"
#include "bus/topology.h"
#include "common/log.h"
#include "events/envelope.h"
#include "events/subjects.h"

namespace kiln::builder {
namespace {

namespace v1 = events::v1;

constexpr int kFetchTimeoutMs = 1000;
constexpr int kRetryDelayMs = 5000;

// Sends in-progress acks while a build runs, so AckWait does not redeliver it.
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

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

Result<bool> has_event(bus::Bus& bus, const std::string& type, const std::string& build_id) {
  auto last = bus::last_message(bus, bus::kEventsStream, events::build_subject(type, build_id));
  if (!last.ok()) return last.error();
  return last->has_value();
}

void settle(bus::Message& message, bool ack, const std::string& build_id, int nak_delay_ms = 0) {
  auto status = ack ? message.ack() : message.nak(nak_delay_ms);
  if (!status.ok()) {
    log::warn(ack ? "ack failed" : "nak failed",
              {{"build_id", build_id}, {"error", status.error().describe()}});
  }
}

}  // namespace

Worker::Worker(bus::Bus& bus, BuildEngine& engine, const BuilderOptions& options,
               http::Metrics& metrics, std::string producer, RunningBuilds& running)
    : bus_(bus), engine_(engine), options_(options), metrics_(metrics),
      producer_(std::move(producer)), running_(running) {}

Status Worker::start() {
  if (auto s = bus::ensure_consumer(bus_, bus::builder_consumer()); !s.ok()) return s;
  metrics_.gauge_set("kiln_builder_slots", "Build slots of this replica", options_.slots);
  metrics_.gauge_set("kiln_builder_slots_busy", "Build slots running a build", 0);
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
      auto bound = bus::PullConsumer::bind(bus_, bus::builder_consumer());
      if (!bound.ok()) {
        log::warn("binding the builder consumer failed; retrying",
                  {{"slot", slot}, {"error", bound.error().describe()}});
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      consumer = std::move(bound.value());
    }
    auto batch = consumer->fetch(1, kFetchTimeoutMs);
    if (!batch.ok()) {
      log::warn("fetching dispatched builds failed", {{"error", batch.error().describe()}});
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    for (auto& message : *batch) {
      if (stopping_.load()) {
        settle(message, false, "");
        continue;
      }
      handle(message);
    }
  }
}

void Worker::handle(bus::Message& message) {
  auto decoded = events::decode(message.data());
  if (!decoded.ok() || !decoded->has_dispatched() || !events::valid_token(decoded->build_id())) {
    log::error("undecodable dispatched message; terminated",
               {{"subject", std::string(message.subject())}});
    if (auto s = message.term(); !s.ok()) {
      log::warn("term failed", {{"error", s.error().describe()}});
    }
    return;
  }
  const std::string build_id = decoded->build_id();
  const int attempt =
      decoded->dispatched().attempt() > 0 ? decoded->dispatched().attempt() : decoded->attempt();
  EventOut out(bus_, producer_, build_id, attempt);

  // Has this build already ended, or been superseded by a later dispatch?
  for (const char* type : {"built", "succeeded", "failed", "cancelled"}) {
    auto found = has_event(bus_, type, build_id);
    if (!found.ok()) {
      log::warn("reading build state failed; retrying",
                {{"build_id", build_id}, {"error", found.error().describe()}});
      return settle(message, false, build_id, kRetryDelayMs);
    }
    if (*found) {
      log::info("build already ended; skipped", {{"build_id", build_id}, {"event", type}});
      return settle(message, true, build_id);
    }
  }
  auto latest = bus::last_message(bus_, bus::kEventsStream,
                                  events::build_subject("dispatched", build_id));
  if (!latest.ok()) return settle(message, false, build_id, kRetryDelayMs);
  if (latest->has_value()) {
    auto last = events::decode((*latest)->data());
    if (last.ok() && last->dispatched().attempt() > attempt) {
      log::info("stale dispatch fenced",
                {{"build_id", build_id}, {"attempt", attempt},
                 {"latest_attempt", last->dispatched().attempt()}});
      return settle(message, true, build_id);
    }
  }
  auto requested = bus::last_message(bus_, bus::kEventsStream,
                                     events::build_subject("requested", build_id));
  if (!requested.ok()) return settle(message, false, build_id, kRetryDelayMs);
  std::optional<v1::Envelope> request;
  if (requested->has_value()) {
    if (auto parsed = events::decode((*requested)->data()); parsed.ok() && parsed->has_requested()) {
      request = std::move(parsed.value());
    }
  }
  if (!request) {
    log::error("dispatched build has no readable requested event; terminated",
               {{"build_id", build_id}});
    if (auto s = message.term(); !s.ok()) log::warn("term failed", {{"error", s.error().describe()}});
    return;
  }

  const auto flag = running_.add(build_id);
  struct Unregister {
    RunningBuilds& running;
    const std::string& id;
    const std::shared_ptr<CancelFlag>& flag;
    http::Metrics& metrics;
    ~Unregister() {
      running.remove(id, flag);
      metrics.gauge_set("kiln_builder_slots_busy", "Build slots running a build", running.size());
    }
  } unregister{running_, build_id, flag, metrics_};
  metrics_.gauge_set("kiln_builder_slots_busy", "Build slots running a build", running_.size());

  // Registered first, checked second: a cancel arriving in between is seen by the watcher.
  auto cancel_requested = has_event(bus_, "cancel_requested", build_id);
  if (!cancel_requested.ok()) return settle(message, false, build_id, kRetryDelayMs);
  if (*cancel_requested) {
    auto envelope = out.envelope();
    envelope.mutable_cancelled()->set_stage(v1::DISPATCH);
    envelope.mutable_cancelled()->set_reason("cancel requested before the build started");
    auto ack = out.publish(envelope);
    if (!ack.ok()) return settle(message, false, build_id, kRetryDelayMs);
    metrics_.counter_add("kiln_builder_builds_total", "Builds by outcome",
                         {{"outcome", "cancelled"}});
    return settle(message, true, build_id);
  }

  log::info("build taken", {{"build_id", build_id}, {"attempt", attempt},
                            {"delivery", static_cast<std::int64_t>(message.deliveries())}});
  Result<BuildJob::Outcome> outcome = make_error(ErrorCode::kInternal, "not run");
  {
    Heartbeat heartbeat(message, options_.heartbeat_seconds);
    std::shared_lock storage(storage_mutex_);
    BuildJob job(JobServices{bus_, engine_, options_, metrics_, producer_}, std::move(*request),
                 attempt, *flag);
    outcome = job.run(handing_back_);
  }
  if (!outcome.ok()) {
    log::error("build outcome not stored; handed back",
               {{"build_id", build_id}, {"error", outcome.error().describe()}});
    settle(message, false, build_id, kRetryDelayMs);
  } else if (*outcome == BuildJob::Outcome::kHandedBack) {
    log::info("build handed back at shutdown", {{"build_id", build_id}});
    settle(message, false, build_id);
  } else {
    settle(message, true, build_id);
  }
  maintain_cache();
}

void Worker::maintain_cache() {
  std::unique_lock storage(storage_mutex_, std::try_to_lock);
  if (!storage.owns_lock()) return;  // another slot is building; the next one trims
  auto report = engine_.trim_cache(options_.cache_max_bytes);
  if (!report.ok()) {
    log::warn("trimming the build cache failed", {{"error", report.error().describe()}});
    metrics_.counter_add("kiln_builder_cache_trim_errors_total", "Failed cache trims");
    return;
  }
  metrics_.gauge_set("kiln_builder_cache_bytes", "Size of the buildah storage (layer cache)",
                     static_cast<double>(report->bytes_after));
  metrics_.gauge_set("kiln_builder_cache_max_bytes", "Configured bound of the layer cache",
                     static_cast<double>(options_.cache_max_bytes));
  if (report->evicted_images > 0) {
    metrics_.counter_add("kiln_builder_cache_evictions_total", "Images evicted from the cache",
                         {}, report->evicted_images);
    log::info("build cache trimmed", {{"before_bytes", report->bytes_before},
                                      {"after_bytes", report->bytes_after},
                                      {"evicted_images", report->evicted_images}});
  }
}

}  // namespace kiln::builder
