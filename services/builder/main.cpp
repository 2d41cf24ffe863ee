// kiln-builder: takes dispatched builds, builds them with buildah into OCI layouts, and
// publishes their steps, logs and outcome.
#include "builder/buildah_engine.h"
#include "builder/cancel_watcher.h"
#include "builder/leftovers.h"
#include "builder/metrics.h"
#include "builder/options.h"
#include "builder/worker.h"
#include "common/config.h"
#include "common/log.h"
#include "common/shutdown.h"
#include "http/server.h"
#include "service/service.h"
#include "worker/presence.h"
#include "worker/running_jobs.h"

namespace {

int builder_main(int argc, char** argv) {
  using namespace kiln;
  Config config("kiln-builder", "Builds dispatched builds with buildah into OCI image layouts.");
  service::add_common_options(config, builder::kDefaultHttpPort);
  builder::declare_options(config);
  if (!config.parse(argc, argv)) return 0;
  shutdown::install();
  const std::string instance = service::init_logging(config, "builder");
  const builder::BuilderOptions options = builder::read_options(config, instance);

  builder::BuildahEngine engine(options.buildah_root, options.insecure_registries);
  // What a killed predecessor left: its processes died with it (process.h), its files did not.
  const auto swept = builder::sweep_leftovers(options.work_dir, options.artifacts_dir,
                                              std::chrono::seconds(options.timeout_seconds));
  if (auto s = engine.remove_leftover_containers(); !s.ok()) {
    log::warn("removing leftover working containers failed", {{"error", s.error().describe()}});
  }
  log::info("leftovers swept", {{"work_dirs", swept.work_dirs_removed},
                                {"export_dirs", swept.export_dirs_removed},
                                {"failures", swept.failures}});
  auto bus = service::connect_bus(config, instance);
  if (!bus) return 0;  // shutdown requested while connecting

  http::Server server("builder", service::http_options(config));
  service::add_nats_readiness(server, *bus);
  server.add_readiness_check("buildah", [&engine] { return engine.check(); });
  if (auto bytes = engine.cache_bytes(); bytes.ok()) {
    server.metrics().gauge_set(builder::metric::kCacheBytes, static_cast<double>(*bytes));
  }

  worker::RunningJobs running;
  builder::CancelWatcher cancels(*bus, running);
  if (auto s = cancels.start(); !s.ok()) throw std::runtime_error(s.error().describe());
  builder::Worker worker(*bus, engine, options, server.metrics(), instance, running);
  if (auto s = worker.start(); !s.ok()) throw std::runtime_error(s.error().describe());
  worker::Presence presence(*bus,
                            {.worker_id = options.worker_id,
                             .kind = "builder",
                             .slots = options.slots,
                             .interval = std::chrono::seconds(options.heartbeat_seconds)},
                            running);
  if (auto s = presence.start(); !s.ok()) throw std::runtime_error(s.error().describe());
  server.start();
  log::info("builder ready", {{"http_port", server.port()},
                              {"slots", options.slots},
                              {"worker_id", options.worker_id},
                              {"platform", options.platform}});

  shutdown::wait();
  log::info("shutting down: handing back running builds");
  presence.set_stopping();
  worker.stop();
  presence.stop();
  cancels.stop();
  server.stop(1000);
  log::info("builder stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return kiln::service::run(argc, argv, builder_main); }
