#include "scheduler/scheduler.h"

#include "common/log.h"
#include "service/service.h"

namespace kiln::scheduler {
namespace {

RunnerOptions runner_options(const SchedulerOptions& options) {
  RunnerOptions runner = options.runner;
  if (!options.common.instance.empty()) runner.instance = options.common.instance;
  return runner;
}

}  // namespace

Scheduler::Scheduler(const SchedulerOptions& options, bus::Bus& bus)
    : server_("scheduler", options.common.http),
      runner_(bus, runner_options(options), &server_.metrics()) {
  service::add_nats_readiness(server_, bus);
  server_.add_readiness_check("event-log", [this] { return runner_.readiness(); });
}

void Scheduler::start() {
  server_.start();
  service::require(runner_.start(), "starting the scheduler");
  log::info("scheduler started", {{"port", server_.port()}});
}

void Scheduler::stop() {
  if (stopped_) return;
  stopped_ = true;
  server_.stop();
  runner_.stop();
}

}  // namespace kiln::scheduler
