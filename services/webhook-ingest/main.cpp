// kiln-webhook-ingest: Git webhooks and the command API in front of the event log.
#include "common/config.h"
#include "common/log.h"
#include "common/shutdown.h"
#include "service/service.h"
#include "webhook-ingest/ingest_options.h"
#include "webhook-ingest/ingest_service.h"

namespace {

int serve(int argc, char** argv) {
  kiln::Config config("kiln-webhook-ingest",
                      "Receives GitHub, GitLab and Gitea/Forgejo push webhooks and the command "
                      "API, and publishes build requests to NATS JetStream.");
  kiln::service::add_common_options(config, 8080);
  kiln::webhook::add_ingest_options(config);
  if (!config.parse(argc, argv)) return 0;
  kiln::shutdown::install();
  const std::string instance = kiln::service::init_logging(config, "webhook-ingest");
  const auto options = kiln::webhook::read_ingest_options(config, instance);

  auto bus = kiln::service::connect_bus(config, instance);
  if (!bus) return 0;  // shutdown requested before NATS came up
  kiln::webhook::IngestService service(*bus, options, kiln::service::http_options(config));

  kiln::shutdown::wait();
  kiln::log::info("shutting down");
  service.stop(5000);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return kiln::service::run(argc, argv, serve); }
