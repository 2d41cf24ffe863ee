#include "pusher/staging_sweep.h"

#include <chrono>

#include "common/ids.h"
#include "common/log.h"
#include "pusher/metrics.h"

namespace kiln::pusher {

SweepReport sweep_staging(registry::RegistryClient& client, const registry::StagingOptions& staging,
                          std::int64_t now_seconds, const registry::TransferControl& control) {
  SweepReport report;
  auto tags = client.list_tags(staging.repository, control);
  if (!tags.ok()) {
    log::warn("staging sweep: listing tags failed", {{"error", tags.error().describe()}});
    ++report.errors;
    return report;
  }
  const std::int64_t oldest_kept = now_seconds - std::int64_t{staging.max_age_hours} * 3600;
  for (const auto& tag : *tags) {
    if (control.cancel && control.cancel()) break;
    ++report.tags_seen;
    const auto made = registry::staged_at(tag);
    if (!made || *made >= oldest_kept) continue;
    auto manifest = client.get_manifest(staging.repository, tag, control);
    if (!manifest.ok()) {
      if (manifest.error().code != ErrorCode::kNotFound) ++report.errors;
      continue;
    }
    if (auto s = client.delete_manifest(staging.repository, manifest->digest, control); !s.ok()) {
      log::warn("staging sweep: delete failed", {{"tag", tag}, {"error", s.error().describe()}});
      ++report.errors;
      if (s.error().code == ErrorCode::kFailedPrecondition) break;  // deletes not allowed
      continue;
    }
    ++report.deleted;
  }
  return report;
}

void StagingSweeper::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    if (stopping_.load()) return;
    do {
      lock.unlock();
      sweep_once();
      lock.lock();
    } while (!wake_.wait_for(lock, std::chrono::minutes(10), [this] { return stopping_.load(); }));
  });
}

void StagingSweeper::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_.store(true);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StagingSweeper::sweep_once() {
  auto client = registries_.get(staging_.registry);
  if (!client.ok()) {
    log::warn("staging sweep: no client", {{"error", client.error().describe()}});
    return;
  }
  registry::TransferControl control;
  control.cancel = [this] { return stopping_.load(); };
  const auto report = sweep_staging(**client, staging_, now_ms() / 1000, control);
  metrics_.counter_add(metric::kStagedSwept, {}, report.deleted);
  if (report.deleted > 0 || report.errors > 0) {
    log::info("staging swept",
              {{"tags", report.tags_seen}, {"deleted", report.deleted}, {"errors", report.errors}});
  }
}

}  // namespace kiln::pusher
