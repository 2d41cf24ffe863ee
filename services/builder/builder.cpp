#include "builder/builder.h"

#include "builder/leftovers.h"
#include "builder/metrics.h"
#include "common/log.h"
#include "service/service.h"

namespace kiln::builder {

Builder::Builder(const BuilderOptions& options, bus::Bus& bus)
    : options_(resolve(options)),
      engine_(options_.buildah_root, options_.insecure_registries),
      server_("builder", options_.common.http),
      cancels_(bus, running_),
      worker_(bus, engine_, options_, server_.metrics(), options_.worker_id, running_),
      presence_(bus,
                {.worker_id = options_.worker_id,
                 .kind = "builder",
                 .slots = options_.slots,
                 .interval = std::chrono::seconds(options_.heartbeat_seconds)},
                running_) {
  service::add_nats_readiness(server_, bus);
  server_.add_readiness_check("buildah", [this] { return engine_.check(); });
}

void Builder::sweep_leftovers(Sweep when) {
  // A killed predecessor's processes died with it (process.h); its files did not.
  const auto swept = builder::sweep_leftovers(options_.work_dir, options_.artifacts_dir,
                                              std::chrono::seconds(options_.timeout_seconds),
                                              std::chrono::hours(options_.artifacts_max_age_hours));
  // Only before any build runs: a running build's working container looks the same.
  if (when == Sweep::kAtStart) {
    if (auto s = engine_.remove_leftover_containers(); !s.ok()) {
      log::warn("removing leftover working containers failed", {{"error", s.error().describe()}});
    }
    if (auto bytes = engine_.cache_bytes(); bytes.ok()) {
      server_.metrics().gauge_set(metric::kCacheBytes, static_cast<double>(*bytes));
    }
  }
  const int removed = swept.work_dirs_removed + swept.export_dirs_removed + swept.layouts_removed;
  if (when == Sweep::kAtStart || removed > 0 || swept.failures > 0) {
    log::info("leftovers swept", {{"work_dirs", swept.work_dirs_removed},
                                  {"export_dirs", swept.export_dirs_removed},
                                  {"layouts", swept.layouts_removed},
                                  {"failures", swept.failures}});
  }
}

void Builder::sweep_periodically() {
  std::unique_lock lock(sweep_mutex_);
  while (!sweep_wake_.wait_for(lock, std::chrono::minutes(10), [this] { return sweep_stop_; })) {
    lock.unlock();
    sweep_leftovers(Sweep::kPeriodic);
    lock.lock();
  }
}

void Builder::start() {
  sweep_leftovers(Sweep::kAtStart);
  sweeper_ = std::thread([this] { sweep_periodically(); });
  server_.start();  // first: a port in use must not have taken a build already
  service::require(cancels_.start(), "watching cancel requests");
  service::require(worker_.start(), "binding the builder consumer");
  service::require(presence_.start(), "writing the worker heartbeat");
  log::info("builder ready", {{"http_port", server_.port()},
                              {"slots", options_.slots},
                              {"worker_id", options_.worker_id},
                              {"platform", options_.platform}});
}

void Builder::stop() {
  if (stopped_) return;
  stopped_ = true;
  log::info("handing back running builds");
  {
    std::lock_guard lock(sweep_mutex_);
    sweep_stop_ = true;
  }
  sweep_wake_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
  presence_.set_stopping();
  worker_.stop();
  presence_.stop();
  cancels_.stop();
  server_.stop(1000);
}

}  // namespace kiln::builder
