// kiln-scheduler: fires cron schedules and dispatches requested builds under concurrency limits.
#include <chrono>

#include "common/config.h"
#include "common/log.h"
#include "common/shutdown.h"
#include "http/server.h"
#include "scheduler/scheduler_runner.h"
#include "service/service.h"

namespace {

int serve(int argc, char** argv) {
  kiln::Config config("kiln-scheduler", "Fires cron schedules and dispatches builds.");
  kiln::service::add_common_options(config, 8082);
  config.option("dispatch.global-limit", "4", "Running builds at once across projects (0: none)")
      .option("dispatch.stuck-seconds", "600",
              "A dispatched build no worker has taken, with no event this long, is re-dispatched, "
              "then failed")
      .option("dispatch.worker-lost-seconds", "30",
              "A running attempt no worker heartbeat has listed this long is re-dispatched, then "
              "failed (a silent build step is fine while its worker lists it)")
      .option("dispatch.max-attempts", "2", "Dispatch attempts before a lost worker fails a build")
      .option("registry.default", "127.0.0.1:5000",
              "Registry for scheduled builds of projects that name none")
      .option("scheduler.lease-seconds", "6", "A leader silent this long is replaced by a standby");
  if (!config.parse(argc, argv)) return 0;

  kiln::shutdown::install();
  const std::string instance = kiln::service::init_logging(config, "scheduler");
  auto bus = kiln::service::connect_bus(config, instance);
  if (!bus) return 0;  // shutdown requested while waiting for NATS

  kiln::http::Server server("scheduler", kiln::service::http_options(config));

  kiln::scheduler::RunnerOptions options;
  options.instance = instance;
  options.limits.global_limit = static_cast<int>(config.get_int("dispatch.global-limit"));
  options.limits.stuck_seconds = config.get_int("dispatch.stuck-seconds");
  options.limits.worker_lost_seconds = config.get_int("dispatch.worker-lost-seconds");
  options.limits.max_attempts = static_cast<int>(config.get_int("dispatch.max-attempts"));
  options.default_registry = config.get("registry.default");
  options.lease_stale_after = std::chrono::seconds(config.get_int("scheduler.lease-seconds"));
  kiln::scheduler::SchedulerRunner runner(*bus, options, &server.metrics());

  kiln::service::add_nats_readiness(server, *bus);
  server.add_readiness_check("event-log", [&runner] { return runner.readiness(); });
  if (auto started = runner.start(); !started.ok()) {
    kiln::log::error("scheduler failed to start", {{"error", started.error().describe()}});
    return 1;
  }
  server.start();
  kiln::log::info("scheduler started", {{"port", server.port()}, {"instance", instance}});

  kiln::shutdown::wait();
  kiln::log::info("shutting down");
  server.stop();
  runner.stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return kiln::service::run(argc, argv, serve); }
