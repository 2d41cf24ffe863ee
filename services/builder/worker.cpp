#include "builder/worker.h"

#include "builder/build_job.h"
#include "builder/build_network.h"
#include "builder/metrics.h"
#include "bus/retry.h"
#include "common/log.h"
#include "events/envelope.h"
#include "events/subjects.h"
#include "worker/build_events.h"
#include "worker/heartbeat.h"
#include "worker/running_jobs.h"
#include "worker/settle.h"

namespace kiln::builder {
namespace {

namespace v1 = events::v1;

using worker::has_event;
using worker::settle;
using worker::Settle;
using worker::stored_event;

}  // namespace

Worker::Worker(bus::Bus& bus, BuildEngine& engine, const BuilderOptions& options,
               http::Metrics& metrics, std::string producer, worker::RunningJobs& running)
    : bus_(bus),
      engine_(engine),
      options_(options),
      metrics_(metrics),
      producer_(std::move(producer)),
      running_(running),
      registries_(registry::with_insecure_hosts(options.insecure_registries)),
      shared_cache_(options.shared_cache, options.staging.registry, engine, registries_, metrics),
      loop_(bus,
            {.consumer = bus::builder_consumer(),
             .slots = options.slots,
             .bind_failed_log = "binding the builder consumer failed; retrying",
             .fetch_failed_log = "fetching dispatched builds failed",
             .on_stop =
                 [this] {
                   handing_back_.store(true);
                   running_.cancel_all();
                 }},
            [this](bus::Message& message) { handle(message); }) {}

Status Worker::start() {
  remove_stale_build_networks();
  if (!options_.secrets_key_file.empty()) {
    auto key = secrets::SealingKey::load(options_.secrets_key_file);
    if (!key.ok()) return key.error();
    auto store = secrets::BuildSecrets::open(bus_, *key);
    if (!store.ok()) return store.error();
    build_secrets_ = std::move(store.value());
  }
  metrics_.gauge_set(metric::kSlots, options_.slots);
  metrics_.gauge_set(metric::kSlotsBusy, 0);
  return loop_.start();
}

void Worker::stop() { loop_.stop(); }

void Worker::handle(bus::Message& message) {
  auto decoded = events::decode(message.data());
  if (!decoded.ok() || !decoded->has_dispatched() || !events::valid_token(decoded->build_id())) {
    log::error("undecodable dispatched message; terminated",
               {{"subject", std::string(message.subject())}});
    if (auto s = message.term(); !s.ok()) {
      log::warn("term failed", {{"error", s.error().describe()}});
    }
    return;
  }
  const std::string build_id = decoded->build_id();
  const int attempt =
      decoded->dispatched().attempt() > 0 ? decoded->dispatched().attempt() : decoded->attempt();
  EventOut out(bus_, producer_, build_id, attempt);

  // Has this build already ended, or been superseded by a later dispatch?
  for (const char* type : {"built", "succeeded", "failed", "cancelled"}) {
    auto found = has_event(bus_, type, build_id);
    if (!found.ok()) {
      log::warn("reading build state failed; retrying",
                {{"build_id", build_id}, {"error", found.error().describe()}});
      return settle(message, Settle::kNakLater, build_id);
    }
    if (*found) {
      log::info("build already ended; skipped", {{"build_id", build_id}, {"event", type}});
      return settle(message, Settle::kAck, build_id);
    }
  }
  auto latest = worker::highest_dispatched_attempt(bus_, build_id);
  if (!latest.ok()) return settle(message, Settle::kNakLater, build_id);
  if (*latest > attempt) {
    log::info("stale dispatch fenced",
              {{"build_id", build_id}, {"attempt", attempt}, {"latest_attempt", *latest}});
    return settle(message, Settle::kAck, build_id);
  }
  auto request = stored_event(bus_, "requested", build_id);
  if (!request.ok()) return settle(message, Settle::kNakLater, build_id);
  if (!request->has_value() || !(*request)->has_requested()) {
    log::error("dispatched build has no readable requested event; terminated",
               {{"build_id", build_id}});
    if (auto s = message.term(); !s.ok())
      log::warn("term failed", {{"error", s.error().describe()}});
    return;
  }

  const worker::JobRegistration registration(running_, build_id, attempt, [this](int running) {
    metrics_.gauge_set(metric::kSlotsBusy, running);
  });

  // Registered first, checked second: a cancel arriving in between is seen by the watcher.
  auto cancel_requested = has_event(bus_, "cancel_requested", build_id);
  if (!cancel_requested.ok()) return settle(message, Settle::kNakLater, build_id);
  if (*cancel_requested) {
    auto envelope = out.envelope();
    envelope.mutable_cancelled()->set_stage(v1::DISPATCH);
    envelope.mutable_cancelled()->set_reason("cancel requested before the build started");
    auto ack = out.publish(envelope);
    if (!ack.ok()) return settle(message, Settle::kNakLater, build_id);
    metrics_.counter_add(metric::kBuilds, {{"outcome", "cancelled"}});
    forget_secrets(build_id, (*request)->requested());
    return settle(message, Settle::kAck, build_id);
  }

  log::info("build taken", {{"build_id", build_id},
                            {"attempt", attempt},
                            {"delivery", static_cast<std::int64_t>(message.deliveries())}});
  Result<BuildJob::Outcome> outcome = make_error(ErrorCode::kInternal, "not run");
  std::optional<BuildJob::LocalImage> built_image;
  const std::string project = (*request)->requested().project();
  const v1::BuildRequested requested = (*request)->requested();
  {
    worker::Heartbeat heartbeat(message, std::chrono::seconds(options_.heartbeat_seconds));
    std::shared_lock storage(storage_mutex_);
    BuildJob job(JobServices{bus_, engine_, options_, metrics_, producer_, registries_,
                             shared_cache_, build_secrets_.get()},
                 std::move(**request), attempt, registration.flag());
    outcome = job.run(handing_back_);
    built_image = job.local_image();
  }
  if (!outcome.ok()) {
    log::error("build outcome not stored; handed back",
               {{"build_id", build_id}, {"error", outcome.error().describe()}});
    settle(message, Settle::kNakLater, build_id);
  } else if (*outcome == BuildJob::Outcome::kHandedBack) {
    log::info("build handed back at shutdown", {{"build_id", build_id}});
    settle(message, Settle::kNak, build_id);
  } else {
    forget_secrets(build_id, requested);
    settle(message, Settle::kAck, build_id);
  }
  // A build given secrets of its own keeps its step images to itself: only the final image is
  // searched for a written secret, not the other stages that the cache would share.
  const bool own_secrets = requested.spec().secret_ids_size() > 0;
  if (built_image && !project.empty() && shared_cache_.enabled() && !own_secrets) {
    publish_to_shared_cache(build_id, project, *built_image);
  }
  maintain_cache();
}

void Worker::forget_secrets(const std::string& build_id, const v1::BuildRequested& request) {
  const auto& ids = request.spec().secret_ids();
  if (ids.empty() || !build_secrets_) return;
  const std::vector<std::string> secret_ids(ids.begin(), ids.end());
  auto purged = bus::retry_transient(kPublishWindow,
                                     [&] { return build_secrets_->purge(build_id, secret_ids); });
  if (!purged.ok()) {
    log::warn("build secrets not purged; they expire with the bucket's TTL",
              {{"build_id", build_id}, {"error", purged.error().describe()}});
  }
}

void Worker::publish_to_shared_cache(const std::string& build_id, const std::string& project,
                                     const BuildJob::LocalImage& image) {
  std::shared_lock storage(storage_mutex_);  // a trim must not remove what is being pushed
  // Other stages share no layer with the final image; they are found by creation time, which
  // only says "this build" when no other build ran on the storage meanwhile.
  const std::int64_t since = options_.slots == 1 ? image.build_started_ms : 0;
  const auto began = std::chrono::steady_clock::now();
  auto published = shared_cache_.publish(
      project, image.id, since,
      RunControl{std::chrono::steady_clock::now() + std::chrono::minutes(10), nullptr});
  const auto took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - began)
                           .count();
  if (!published.ok()) {
    metrics_.counter_add(metric::kSharedCacheErrors, {{"operation", "publish"}});
    log::warn(
        "step images not shared",
        {{"build_id", build_id}, {"project", project}, {"error", published.error().describe()}});
    return;
  }
  log::info("step images shared", {{"build_id", build_id},
                                   {"project", project},
                                   {"pushed", published->pushed},
                                   {"expired", published->expired},
                                   {"duration_ms", took_ms}});
}

void Worker::maintain_cache() {
  std::unique_lock storage(storage_mutex_, std::try_to_lock);
  if (!storage.owns_lock()) return;  // another slot is building; the next one trims
  auto report = engine_.trim_cache(options_.cache_max_bytes);
  if (!report.ok()) {
    log::warn("trimming the build cache failed", {{"error", report.error().describe()}});
    metrics_.counter_add(metric::kCacheTrimErrors);
    return;
  }
  metrics_.gauge_set(metric::kCacheBytes, static_cast<double>(report->bytes_after));
  metrics_.gauge_set(metric::kCacheMaxBytes, static_cast<double>(options_.cache_max_bytes));
  if (report->evicted_images > 0) {
    metrics_.counter_add(metric::kCacheEvictions, {}, report->evicted_images);
    log::info("build cache trimmed", {{"before_bytes", report->bytes_before},
                                      {"after_bytes", report->bytes_after},
                                      {"evicted_images", report->evicted_images}});
  }
}

}  // namespace kiln::builder
