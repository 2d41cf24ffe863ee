// kiln-webhook-ingest: Git webhooks and the command API in front of the event log.
#include "common/shutdown.h"
#include "service/service.h"
#include "webhook-ingest/ingest_service.h"

int main(int argc, char** argv) {
  return kiln::service::run(argc, argv, [](int argc, char** argv) {
    kiln::webhook::IngestOptions options;
    kiln::Config config = kiln::webhook::describe(options);
    if (!config.parse(argc, argv)) return 0;  // --help
    kiln::shutdown::install();
    kiln::service::init_logging(options.common, "webhook-ingest");
    auto bus = kiln::service::connect_bus(options.common);
    if (!bus) return 0;  // shutdown asked for while connecting
    kiln::webhook::IngestService ingest(options, *bus);
    ingest.start();
    kiln::shutdown::wait();
    ingest.stop();
    return 0;
  });
}
