// kiln-scheduler: fires cron schedules and dispatches requested builds under concurrency limits.
#include "common/shutdown.h"
#include "scheduler/scheduler.h"
#include "service/service.h"

int main(int argc, char** argv) {
  return kiln::service::run(argc, argv, [](int argc, char** argv) {
    kiln::scheduler::SchedulerOptions options;
    kiln::Config config = kiln::scheduler::describe(options);
    if (!config.parse(argc, argv)) return 0;  // --help
    kiln::shutdown::install();
    kiln::service::init_logging(options.common, "scheduler");
    auto bus = kiln::service::connect_bus(options.common);
    if (!bus) return 0;  // shutdown asked for while connecting
    kiln::scheduler::Scheduler scheduler(options, *bus);
    scheduler.start();
    kiln::shutdown::wait();
    scheduler.stop();
    return 0;
  });
}
