#include "pusher/pusher.h"

#include "common/log.h"
#include "service/service.h"

namespace kiln::pusher {
namespace {

PusherOptions resolved(PusherOptions options) {
  if (options.worker_id.empty()) options.worker_id = options.common.instance;
  if (options.worker_id.empty()) options.worker_id = "pusher";
  if (std::int64_t{options.staging.max_age_hours} * 3600 <
      std::int64_t{options.retry_window_seconds} + 3600) {
    throw StartupError(
        "staging.max-age-hours (" + std::to_string(options.staging.max_age_hours) +
        ") must exceed push.retry-window-seconds (" + std::to_string(options.retry_window_seconds) +
        " s) by an hour at least: the sweep would delete images whose push is still retried");
  }
  return options;
}

}  // namespace

Pusher::Pusher(const PusherOptions& options, bus::Bus& bus)
    : options_(resolved(options)),
      server_("pusher", options_.common.http),
      registries_(options_.registries),
      cancels_(bus, running_),
      worker_(bus, registries_, options_, server_.metrics(), options_.worker_id, running_),
      presence_(bus,
                {.worker_id = options_.worker_id,
                 .kind = "pusher",
                 .slots = options_.slots,
                 .interval = std::chrono::seconds(options_.heartbeat_seconds)},
                running_),
      sweeper_(registries_, options_.staging, server_.metrics()) {
  service::add_nats_readiness(server_, bus);
}

void Pusher::start() {
  server_.start();  // first: a port in use must not have taken a push already
  service::require(cancels_.start(), "watching cancel requests");
  service::require(worker_.start(), "binding the pusher consumer");
  service::require(presence_.start(), "writing the worker heartbeat");
  sweeper_.start();
  log::info("pusher ready",
            {{"http_port", server_.port()},
             {"slots", options_.slots},
             {"worker_id", options_.worker_id},
             {"staging", options_.staging.registry + "/" + options_.staging.repository}});
}

void Pusher::stop() {
  if (stopped_) return;
  stopped_ = true;
  presence_.set_stopping();
  worker_.stop();
  presence_.stop();
  sweeper_.stop();
  cancels_.stop();
  server_.stop();
}

}  // namespace kiln::pusher
