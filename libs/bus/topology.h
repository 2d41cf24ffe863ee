// kiln's streams, consumers and buckets, declared in one place (docs/design.md "Streams, buckets
// and consumers") and provisioned idempotently: every service calls provision() at start; a second
// call, or a concurrent one from another replica, changes nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "bus/kv.h"

namespace kiln::bus {

inline constexpr char kEventsStream[] = "KILN_EVENTS";
inline constexpr char kLogsStream[] = "KILN_LOGS";
inline constexpr char kUploadsStream[] = "KILN_UPLOADS";
inline constexpr char kProjectsBucket[] = "kiln_projects";
inline constexpr char kLeasesBucket[] = "kiln_leases";
// Worker heartbeats (kiln.events.v1.WorkerHeartbeat), one key per worker id.
inline constexpr char kWorkersBucket[] = "kiln_workers";
// Values given to one build (kiln build --secret), sealed (secrets/build_secrets.h), one key per
// build and secret; purged when the build ends, forgotten after a day in any case.
inline constexpr char kBuildSecretsBucket[] = "kiln_build_secrets";
// The scheduler's snapshots of its state (services/scheduler/snapshot_store.h); only it opens it.
inline constexpr char kSchedulerBucket[] = "kiln_scheduler";

struct StreamSpec {
  std::string name;
  std::vector<std::string> subjects;
  std::int64_t max_age_seconds = 0;  // 0: keep forever
  std::int64_t duplicate_window_seconds = 120;
  std::int32_t max_msg_size = -1;
  std::int64_t max_bytes = -1;  // -1: no limit
  // At max_bytes: refuse new messages (true) or remove the oldest (false).
  bool refuse_when_full = false;
};

struct ConsumerSpec {
  std::string stream;
  std::string durable;
  std::string filter_subject;
  std::int64_t ack_wait_seconds = 30;
  std::int64_t max_ack_pending = 1000;
  std::int64_t max_deliver = -1;  // -1: until acked or terminated
};

struct TopologyOptions {
  std::int64_t log_max_age_days = 30;
  // KILN_LOGS drops its oldest logs past this; KILN_UPLOADS refuses new uploads past this (a
  // stored context a queued build still needs is never dropped for a new one).
  std::int64_t logs_max_bytes = 20LL << 30;
  std::int64_t uploads_max_bytes = 8LL << 30;
  std::int64_t duplicate_window_seconds = 24 * 3600;  // covers a retried webhook or a restart
  std::int64_t builder_ack_wait_seconds = 30;
  std::int64_t pusher_ack_wait_seconds = 30;
};

std::vector<StreamSpec> kiln_streams(const TopologyOptions& options = {});

// The durable consumers of the services. Replicas of a service share its durable.
ConsumerSpec dispatcher_consumer(const TopologyOptions& options = {});
ConsumerSpec builder_consumer(const TopologyOptions& options = {});
ConsumerSpec pusher_consumer(const TopologyOptions& options = {});
ConsumerSpec analytics_consumer(const TopologyOptions& options = {});

Status ensure_stream(Bus& bus, const StreamSpec& spec);
Status ensure_consumer(Bus& bus, const ConsumerSpec& spec);
// Streams and buckets; each service then ensures its own consumer.
// kiln_workers: the latest heartbeat per worker; a worker silent for a day is forgotten.
KeyValue::Options workers_bucket_options();
KeyValue::Options build_secrets_bucket_options();

Status provision(Bus& bus, const TopologyOptions& options = {});

}  // namespace kiln::bus
