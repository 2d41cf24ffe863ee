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

void Builder::sweep_leftovers() {
  // A killed predecessor's processes died with it (process.h); its files did not.
  const auto swept = builder::sweep_leftovers(options_.work_dir, options_.artifacts_dir,
                                              std::chrono::seconds(options_.timeout_seconds));
  if (auto s = engine_.remove_leftover_containers(); !s.ok()) {
    log::warn("removing leftover working containers failed", {{"error", s.error().describe()}});
  }
  log::info("leftovers swept", {{"work_dirs", swept.work_dirs_removed},
                                {"export_dirs", swept.export_dirs_removed},
                                {"failures", swept.failures}});
  if (auto bytes = engine_.cache_bytes(); bytes.ok()) {
    server_.metrics().gauge_set(metric::kCacheBytes, static_cast<double>(*bytes));
  }
}

void Builder::start() {
  sweep_leftovers();
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
  presence_.set_stopping();
  worker_.stop();
  presence_.stop();
  cancels_.stop();
  server_.stop(1000);
}

}  // namespace kiln::builder
