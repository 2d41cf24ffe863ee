// kiln-pusher: takes built images (OCI layouts in the artifact store), pushes them to their
// registry and publishes pushed + succeeded, or failed / cancelled.
#include "common/config.h"
#include "common/log.h"
#include "common/shutdown.h"
#include "http/server.h"
#include "pusher/cancel_watcher.h"
#include "pusher/options.h"
#include "pusher/registry_clients.h"
#include "pusher/worker.h"
#include "service/service.h"
#include "worker/presence.h"
#include "worker/running_jobs.h"

namespace {

int pusher_main(int argc, char** argv) {
  using namespace kiln;
  Config config("kiln-pusher",
                "Pushes built OCI image layouts to their registry over the OCI distribution API.");
  service::add_common_options(config, pusher::kDefaultHttpPort);
  pusher::declare_options(config);
  if (!config.parse(argc, argv)) return 0;
  shutdown::install();
  const std::string instance = service::init_logging(config, "pusher");
  const pusher::PusherOptions options = pusher::read_options(config, instance);

  auto bus = service::connect_bus(config, instance);
  if (!bus) return 0;  // shutdown requested while connecting

  http::Server server("pusher", service::http_options(config));
  service::add_nats_readiness(server, *bus);

  pusher::RegistryClients registries(
      {options.insecure_registries, options.docker_config, options.parallelism});
  worker::RunningJobs running;
  pusher::CancelWatcher cancels(*bus, running);
  if (auto s = cancels.start(); !s.ok()) throw std::runtime_error(s.error().describe());
  pusher::Worker worker(*bus, registries, options, server.metrics(), options.worker_id, running);
  if (auto s = worker.start(); !s.ok()) throw std::runtime_error(s.error().describe());
  worker::Presence presence(*bus,
                            {.worker_id = options.worker_id,
                             .kind = "pusher",
                             .slots = options.slots,
                             .interval = std::chrono::seconds(options.heartbeat_seconds)},
                            running);
  if (auto s = presence.start(); !s.ok()) throw std::runtime_error(s.error().describe());
  server.start();
  log::info("pusher ready", {{"http_port", server.port()},
                             {"slots", options.slots},
                             {"worker_id", options.worker_id},
                             {"artifacts_dir", options.artifacts_dir}});

  shutdown::wait();
  log::info("shutting down: handing back running pushes");
  presence.set_stopping();
  worker.stop();
  presence.stop();
  cancels.stop();
  server.stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return kiln::service::run(argc, argv, pusher_main); }
