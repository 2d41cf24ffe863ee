#include "scheduler/leader_lease.h"

#include "bus/topology.h"
#include "common/ids.h"
#include "common/log.h"

namespace kiln::scheduler {

LeaderLease::LeaderLease(bus::Bus& bus, LeaseOptions options)
    : bus_(bus), options_(std::move(options)) {}

LeaderLease::~LeaderLease() { stop(); }

Status LeaderLease::start() {
  // provision() creates the bucket with its TTL; these options only apply if it did not.
  auto kv = bus::KeyValue::open(bus_, bus::kLeasesBucket, {.history = 1, .ttl_seconds = 15});
  if (!kv.ok()) return kv.error();
  kv_ = std::move(kv.value());
  thread_ = std::thread([this] { loop(); });
  return {};
}

void LeaderLease::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (leader_.exchange(false)) {
    // An empty value marks the key free; compare-and-set so we never clear a successor's lease.
    auto released = kv_->update(options_.key, "", revision_);
    if (released.ok()) {
      log::info("leadership released", {{"holder", options_.holder}});
    } else {
      log::warn("releasing leadership failed; the standby takes over when the lease goes stale",
                {{"error", released.error().describe()}});
    }
  }
}

bool LeaderLease::leader() const {
  if (!leader_.load()) return false;
  const auto since =
      Clock::now().time_since_epoch() - std::chrono::nanoseconds(last_heartbeat_ns_.load());
  return since < options_.stale_after;
}

std::string LeaderLease::value() const {
  return "{\"holder\":\"" + log::json_escape(options_.holder) +
         "\",\"heartbeat_ms\":" + std::to_string(now_ms()) + "}";
}

void LeaderLease::acquired(std::uint64_t revision) {
  revision_ = revision;
  last_heartbeat_ns_ = Clock::now().time_since_epoch().count();
  leader_ = true;
  ++term_;
  warned_ = false;
  log::info("became leader",
            {{"holder", options_.holder}, {"revision", static_cast<std::int64_t>(revision)}});
}

void LeaderLease::loop() {
  const auto interval = std::max(options_.stale_after / 3, std::chrono::milliseconds(100));
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    tick();
    lock.lock();
    wake_.wait_for(lock, interval, [this] { return stopping_; });
  }
}

void LeaderLease::tick() {
  if (leader_) {
    auto renewed = kv_->update(options_.key, value(), revision_);
    if (renewed.ok()) {
      revision_ = *renewed;
      last_heartbeat_ns_ = Clock::now().time_since_epoch().count();
      return;
    }
    if (renewed.error().code == ErrorCode::kFailedPrecondition) {
      leader_ = false;
      log::warn("leadership lost to another instance", {{"holder", options_.holder}});
    } else {
      // Still ours unless it goes stale; leader() turns false on its own after stale_after.
      log::warn("lease heartbeat failed", {{"error", renewed.error().describe()}});
    }
    return;
  }
  auto current = kv_->get(options_.key);
  if (!current.ok()) {
    if (!warned_) log::warn("reading the lease failed", {{"error", current.error().describe()}});
    warned_ = true;
    return;
  }
  if (!current->has_value()) {
    auto created = kv_->create(options_.key, value());
    if (created.ok()) acquired(*created);
    return;
  }
  const bus::KvEntry& entry = **current;
  const auto now = Clock::now();
  if (entry.revision != seen_revision_) {
    seen_revision_ = entry.revision;
    seen_since_ = now;
    if (!entry.value.empty()) return;  // a live holder (for now)
  } else if (!entry.value.empty() && now - seen_since_ < options_.stale_after) {
    return;
  }
  // Released, or no heartbeat for stale_after: take over from exactly the revision we saw.
  auto taken = kv_->update(options_.key, value(), entry.revision);
  if (taken.ok()) {
    if (!entry.value.empty()) {
      log::warn("took over a stale lease", {{"previous", entry.value}});
    }
    acquired(*taken);
  }
}

}  // namespace kiln::scheduler
