// kiln-analytics: applies KILN_EVENTS to PostgreSQL projections and serves the query API, the
// live stream and the dashboard. `kiln-analytics rebuild` recreates the projections from the log.
#include "analytics/analytics.h"
#include "common/shutdown.h"
#include "service/service.h"

int main(int argc, char** argv) {
  return kiln::service::run(argc, argv, [](int argc, char** argv) {
    kiln::analytics::AnalyticsOptions options;
    kiln::Config config = kiln::analytics::describe(options);
    if (!config.parse(argc, argv)) return 0;  // --help
    const auto command = kiln::analytics::command(config);
    kiln::shutdown::install();
    kiln::service::init_logging(options.common, "analytics");
    auto bus = kiln::service::connect_bus(options.common);
    if (!bus) return 0;  // shutdown asked for while connecting
    if (command == kiln::analytics::Command::kRebuild) {
      return kiln::analytics::rebuild_and_report(options, *bus);
    }
    kiln::analytics::Analytics analytics(options, *bus);
    analytics.start();
    kiln::shutdown::wait();
    analytics.stop();
    return 0;
  });
}
