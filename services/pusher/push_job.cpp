#include "pusher/push_job.h"

#include "common/ids.h"
#include "common/log.h"
#include "events/envelope.h"
#include "pusher/metrics.h"
#include "registry/errors.h"
#include "worker/build_events.h"

namespace kiln::pusher {
namespace {

namespace v1 = events::v1;

using worker::CancelFlag;
using worker::Settle;

}  // namespace

std::string one_line(std::string text, std::size_t max_size) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (text.size() > max_size) text = text.substr(0, max_size) + "...";
  return text;
}

PushJob::PushJob(const JobServices& services, v1::Envelope built,
                 const std::atomic<bool>& handing_back)
    : services_(services), built_(std::move(built)), handing_back_(handing_back) {
  build_id_ = built_.build_id();
  attempt_ = built_.built().attempt() > 0 ? built_.built().attempt() : built_.attempt();
}

Settle PushJob::run() {
  auto settled = decide_and_push();
  if (settled.ok()) return *settled;
  // Only reads and writes of the event log end here: the registry's errors became `failed`.
  log::warn("event log unavailable; push handed back for a retry",
            {{"build_id", build_id_}, {"error", settled.error().describe()}});
  services_.metrics.counter_add(metric::kBusErrors);
  return Settle::kNakLater;
}

Result<Settle> PushJob::decide_and_push() {
  for (const char* type : {"succeeded", "failed", "cancelled"}) {
    auto ended = stored(type);
    if (!ended.ok()) return ended.error();
    if (ended->has_value()) {
      log::info("build already ended; skipped", {{"build_id", build_id_}, {"event", type}});
      remove_staged();
      count("skipped");
      return Settle::kAck;
    }
  }
  auto requested = stored("requested");
  if (!requested.ok()) return requested.error();
  if (!requested->has_value() || !(*requested)->has_requested()) {
    log::error("built build has no readable requested event", {{"build_id", build_id_}});
    return publish_failed("the build's requested event is missing or unreadable", false);
  }

  // A pusher stopped between `pushed` and `succeeded`: the image is in place, finish the build.
  auto pushed = stored("pushed");
  if (!pushed.ok()) return pushed.error();
  if (pushed->has_value() && (*pushed)->has_pushed()) {
    log::info("image already pushed; finishing the build", {{"build_id", build_id_}});
    return publish_succeeded(**requested, (*pushed)->pushed());
  }

  const worker::JobRegistration registration(
      services_.running, build_id_, attempt_,
      [this](int running) { services_.metrics.gauge_set(metric::kSlotsBusy, running); });

  if (!registration.first()) {
    // Two copies of one message at once (a redelivery while the first still runs): racing would
    // promote a staged image the winner deletes. Look again once the first has finished.
    log::info("build already being pushed here; looking again later", {{"build_id", build_id_}});
    return Settle::kNakLater;
  }

  // Registered first, checked second: a cancel stored in between is seen by the watcher.
  auto cancel = stored("cancel_requested");
  if (!cancel.ok()) return cancel.error();
  if (cancel->has_value()) return publish_cancelled("cancel requested before the push started");

  return push(**requested, registration.flag());
}

Result<Settle> PushJob::push(const v1::Envelope& requested, const CancelFlag& flag) {
  auto target = push_target(requested.requested().spec());
  if (!target.ok()) return publish_failed(target.error().describe(), false);
  auto client = services_.tenant_registries.get(requested.requested().tenant(), target->host);
  if (!client.ok()) {
    return publish_failed(
        "registry credentials for " + target->host + ": " + client.error().describe(), false);
  }

  const v1::StagedImage& staged = built_.built().staged();
  if (staged.tag().empty()) {
    return publish_failed(
        "the image was built by a kiln builder older than the staging registry: its layout is on "
        "that builder's disk, which pushers no longer read; build it again",
        false);
  }
  auto staging = services_.registries.get(staged.registry());
  if (!staging.ok()) {
    return publish_failed(
        "registry credentials for " + staged.registry() + ": " + staging.error().describe(), false);
  }
  if (target->host == staged.registry() && target->repository == staged.repository()) {
    // Cleaning the staged image up would delete the image just pushed.
    return publish_failed("the target repository " + target->repository_url() +
                              " is the staging repository; push to another repository",
                          false);
  }
  const registry::RegistryImage source{*staging, staged.repository(),
                                       built_.built().manifest_digest()};
  registry::PushRequest request;
  request.repository = target->repository;
  request.tags = target->tags;
  request.cancel = [&flag] { return flag.cancelled(); };
  log::info("push started",
            {{"build_id", build_id_},
             {"attempt", attempt_},
             {"staged", staged.registry() + "/" + staged.repository() + ":" + staged.tag()},
             {"repository", target->repository_url()}});
  auto report = registry::copy_image(**client, source, request);
  if (report.ok()) return publish_pushed(requested, *target, *report);

  const Error& error = report.error();
  if (error.code == ErrorCode::kCancelled) {
    if (handing_back_.load()) {
      log::info("push handed back at shutdown", {{"build_id", build_id_}});
      count("handed_back");
      return Settle::kNak;
    }
    return publish_cancelled("cancel requested while pushing");
  }
  // Another pusher may have won meanwhile and deleted the staged image under us: its `pushed` is
  // the truth, not our failure.
  auto winner = stored("pushed");
  if (!winner.ok()) return winner.error();
  if (winner->has_value() && (*winner)->has_pushed()) {
    log::info("push lost a race to another pusher; finishing with its event",
              {{"build_id", build_id_}, {"error", error.describe()}});
    return publish_succeeded(requested, (*winner)->pushed());
  }
  if (registry::is_retryable(error) &&
      now_ms() - built_.occurred_at_ms() <
          std::int64_t{services_.options.retry_window_seconds} * 1000) {
    // The registry is down or overloaded: the staged image waits, the build does not fail yet.
    log::warn("push failed; trying again later",
              {{"build_id", build_id_},
               {"repository", target->repository_url()},
               {"error", error.describe()},
               {"retry_window_seconds", services_.options.retry_window_seconds}});
    count("retry_later");
    return Settle::kNakLater;
  }
  log::warn("push failed", {{"build_id", build_id_},
                            {"repository", target->repository_url()},
                            {"error", error.describe()}});
  return publish_failed("push to " + target->repository_url() + " failed: " + error.describe(),
                        registry::is_retryable(error));
}

Result<Settle> PushJob::publish_pushed(const v1::Envelope& requested, const PushTarget& target,
                                       const registry::PushReport& report) {
  auto envelope = this->envelope();
  auto* pushed = envelope.mutable_pushed();
  for (const auto& tag : target.tags) {
    auto* image = pushed->add_images();
    image->set_tag(tag);
    image->set_url(target.tag_url(tag));
  }
  pushed->set_digest(report.manifest_digest);
  pushed->set_bytes_uploaded(report.bytes_uploaded);
  pushed->set_bytes_skipped(report.bytes_skipped);
  pushed->set_push_duration_ms(report.duration.count());
  pushed->set_repository_url(target.repository_url());

  auto& metrics = services_.metrics;
  metrics.observe(metric::kPushDuration, static_cast<double>(report.duration.count()) / 1000.0);
  metrics.counter_add(metric::kBytesUploaded, {}, static_cast<double>(report.bytes_uploaded));
  metrics.counter_add(metric::kBytesSkipped, {}, static_cast<double>(report.bytes_skipped));

  // Expected last sequence 0: whichever pusher stores `pushed` first wins; a retried publish of
  // this attempt is a duplicate Msg-Id, which the server acks without storing.
  auto ack = publish(envelope, std::uint64_t{0});
  if (!ack.ok()) {
    if (ack.error().code != ErrorCode::kFailedPrecondition) return ack.error();
    auto winner = stored("pushed");
    if (!winner.ok()) return winner.error();
    if (!winner->has_value() || !(*winner)->has_pushed()) return ack.error();
    log::info("another pusher stored pushed first; finishing with its event",
              {{"build_id", build_id_}});
    return publish_succeeded(requested, (*winner)->pushed());
  }
  log::info("image pushed", {{"build_id", build_id_},
                             {"digest", report.manifest_digest},
                             {"duplicate", ack->duplicate},
                             {"bytes_uploaded", report.bytes_uploaded},
                             {"bytes_skipped", report.bytes_skipped},
                             {"duration_ms", static_cast<std::int64_t>(report.duration.count())}});
  return publish_succeeded(requested, envelope.pushed());
}

Result<Settle> PushJob::publish_succeeded(const v1::Envelope& requested,
                                          const v1::ImagePushed& pushed) {
  auto envelope = this->envelope();
  auto* succeeded = envelope.mutable_succeeded();
  succeeded->set_image_url(pushed.repository_url() + "@" + pushed.digest());
  succeeded->set_digest(pushed.digest());
  succeeded->set_total_duration_ms(
      std::max<std::int64_t>(0, envelope.occurred_at_ms() - requested.occurred_at_ms()));
  auto ack = publish(envelope);
  if (!ack.ok()) return ack.error();
  log::info("build succeeded", {{"build_id", build_id_},
                                {"image", succeeded->image_url()},
                                {"total_duration_ms", succeeded->total_duration_ms()}});
  remove_staged();
  count("succeeded");
  return Settle::kAck;
}

Result<Settle> PushJob::publish_failed(const std::string& reason, bool retryable) {
  auto envelope = this->envelope();
  auto* failed = envelope.mutable_failed();
  failed->set_stage(v1::PUSH);
  failed->set_reason(one_line(reason));
  failed->set_retryable(retryable);
  auto ack = publish(envelope);
  if (!ack.ok()) return ack.error();
  log::info("build failed",
            {{"build_id", build_id_}, {"reason", failed->reason()}, {"retryable", retryable}});
  // A failed build's image is never pushed again (a retry is a new build that builds anew).
  remove_staged();
  count("failed");
  return Settle::kAck;
}

Result<Settle> PushJob::publish_cancelled(const std::string& reason) {
  auto envelope = this->envelope();
  envelope.mutable_cancelled()->set_stage(v1::PUSH);
  envelope.mutable_cancelled()->set_reason(reason);
  auto ack = publish(envelope);
  if (!ack.ok()) return ack.error();
  log::info("build cancelled", {{"build_id", build_id_}, {"reason", reason}});
  remove_staged();
  count("cancelled");
  return Settle::kAck;
}

Result<bus::PublishAck> PushJob::publish(v1::Envelope& envelope,
                                         std::optional<std::uint64_t> expected_last_subject_seq) {
  const events::Encoded encoded = events::encode(envelope);
  return services_.bus.publish(encoded.subject, encoded.data, encoded.msg_id,
                               expected_last_subject_seq);
}

v1::Envelope PushJob::envelope() const {
  return events::new_envelope(build_id_, services_.producer, attempt_);
}

Result<std::optional<v1::Envelope>> PushJob::stored(const std::string& type) {
  return worker::stored_event(services_.bus, type, build_id_);
}

void PushJob::remove_staged() {
  const v1::StagedImage& staged = built_.built().staged();
  if (staged.tag().empty()) return;
  auto client = services_.registries.get(staged.registry());
  Status deleted = client.ok() ? (*client)->delete_manifest(staged.repository(),
                                                            built_.built().manifest_digest())
                               : Status(client.error());
  if (!deleted.ok()) {
    log::warn("staged image not deleted; the sweep deletes it later",
              {{"build_id", build_id_}, {"error", deleted.error().describe()}});
    services_.metrics.counter_add(metric::kStagingCleanupErrors);
  }
}

void PushJob::count(const std::string& outcome) {
  services_.metrics.counter_add(metric::kPushes, {{"outcome", outcome}});
}

}  // namespace kiln::pusher
