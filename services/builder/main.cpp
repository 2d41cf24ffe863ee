// kiln-builder: takes dispatched builds, builds them with buildah into OCI layouts, and
// publishes their steps, logs and outcome.
#include "builder/builder.h"
#include "common/shutdown.h"
#include "service/service.h"

int main(int argc, char** argv) {
  return kiln::service::run(argc, argv, [](int argc, char** argv) {
    kiln::builder::BuilderOptions options;
    kiln::Config config = kiln::builder::describe(options);
    if (!config.parse(argc, argv)) return 0;  // --help
    kiln::shutdown::install();
    kiln::service::init_logging(options.common, "builder");
    auto bus = kiln::service::connect_bus(options.common);
    if (!bus) return 0;  // shutdown asked for while connecting
    kiln::builder::Builder builder(options, *bus);
    builder.start();
    kiln::shutdown::wait();
    builder.stop();
    return 0;
  });
}
