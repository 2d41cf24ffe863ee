#include "worker/presence.h"

#include <unistd.h>

#include <utility>

#include "bus/topology.h"
#include "common/ids.h"
#include "common/log.h"
#include "kiln/events/v1/events.pb.h"

namespace kiln::worker {
namespace {

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

}  // namespace

std::string worker_key(const std::string& worker_id) {
  std::string key = worker_id;
  for (char& c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return key;
}

Presence::Presence(bus::Bus& bus, PresenceOptions options, const RunningJobs& running)
    : bus_(bus),
      options_(std::move(options)),
      running_(running),
      key_(worker_key(options_.worker_id)),
      host_(host_name()),
      started_at_ms_(kiln::now_ms()) {}

Status Presence::start() {
  auto bucket = bus::KeyValue::open(bus_, bus::kWorkersBucket, bus::workers_bucket_options());
  if (!bucket.ok()) return bucket.error();
  bucket_ = std::move(bucket.value());
  if (auto s = beat("active"); !s.ok()) return s;
  thread_ = std::thread([this] { run(); });
  return {};
}

void Presence::set_stopping() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
}

void Presence::stop() {
  {
    std::lock_guard lock(mutex_);
    if (done_) return;
    done_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (bucket_) {
    if (auto s = beat("stopped"); !s.ok()) {
      log::warn("last heartbeat failed", {{"error", s.error().describe()}});
    }
  }
}

void Presence::run() {
  std::unique_lock lock(mutex_);
  while (!cv_.wait_for(lock, options_.interval, [this] { return done_; })) {
    const std::string state = stopping_ ? "stopping" : "active";
    lock.unlock();
    if (auto s = beat(state); !s.ok()) {
      log::warn("heartbeat failed; retrying at the next interval",
                {{"worker_id", options_.worker_id}, {"error", s.error().describe()}});
    }
    lock.lock();
  }
}

Status Presence::beat(const std::string& state) {
  ::kiln::events::v1::WorkerHeartbeat heartbeat;
  heartbeat.set_worker_id(options_.worker_id);
  heartbeat.set_kind(options_.kind);
  heartbeat.set_host(host_);
  heartbeat.set_version(KILN_VERSION);
  heartbeat.set_slots(options_.slots);
  heartbeat.set_started_at_ms(started_at_ms_);
  heartbeat.set_state(state);
  if (state != "stopped") {
    for (const auto& job : running_.snapshot()) {
      auto* entry = heartbeat.add_running();
      entry->set_build_id(job.build_id);
      entry->set_attempt(job.attempt);
      entry->set_since_ms(job.since_ms);
    }
  }
  heartbeat.set_sent_at_ms(kiln::now_ms());
  auto put = bucket_->put(key_, heartbeat.SerializeAsString());
  if (!put.ok()) return put.error();
  return {};
}

}  // namespace kiln::worker
