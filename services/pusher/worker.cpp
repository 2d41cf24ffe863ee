#include "pusher/worker.h"

#include "common/log.h"
#include "events/envelope.h"
#include "events/subjects.h"
#include "pusher/metrics.h"
#include "pusher/push_job.h"
#include "worker/heartbeat.h"
#include "worker/settle.h"

namespace kiln::pusher {

Worker::Worker(bus::Bus& bus, registry::RegistryClients& registries, const PusherOptions& options,
               http::Metrics& metrics, std::string producer, worker::RunningJobs& running)
    : bus_(bus),
      registries_(registries),
      options_(options),
      tenant_registries_(registries, options.registries, options.secrets_dir),
      metrics_(metrics),
      producer_(std::move(producer)),
      running_(running),
      loop_(bus,
            {.consumer = bus::pusher_consumer(),
             .slots = options.slots,
             .bind_failed_log = "binding the pusher consumer failed; retrying",
             .fetch_failed_log = "fetching built images failed; retrying",
             .on_stop =
                 [this] {
                   handing_back_.store(true);
                   running_.cancel_all();
                 }},
            [this](bus::Message& message) { handle(message); }) {}

Status Worker::start() {
  metrics_.gauge_set(metric::kSlots, options_.slots);
  metrics_.gauge_set(metric::kSlotsBusy, 0);
  return loop_.start();
}

void Worker::stop() { loop_.stop(); }

void Worker::handle(bus::Message& message) {
  auto decoded = events::decode(message.data());
  if (!decoded.ok() || !decoded->has_built() || !events::valid_token(decoded->build_id())) {
    log::error("undecodable built message; terminated",
               {{"subject", std::string(message.subject())}});
    metrics_.counter_add(metric::kPushes, {{"outcome", "undecodable"}});
    if (auto s = message.term(); !s.ok()) {
      log::warn("term failed", {{"error", s.error().describe()}});
    }
    return;
  }
  const std::string build_id = decoded->build_id();
  log::info("built image taken", {{"build_id", build_id},
                                  {"delivery", static_cast<std::int64_t>(message.deliveries())}});
  worker::Settle how = worker::Settle::kNakLater;
  {
    worker::Heartbeat heartbeat(message, std::chrono::seconds(options_.heartbeat_seconds));
    const JobServices services{bus_,      registries_, tenant_registries_, options_, metrics_,
                               producer_, running_};
    PushJob job(services, std::move(decoded.value()), handing_back_);
    how = job.run();
  }
  worker::settle(message, how, build_id);
}

}  // namespace kiln::pusher
