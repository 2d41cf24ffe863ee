#include "bus/topology.h"

#include "bus/kv.h"
#include "events/subjects.h"

namespace kiln::bus {
namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

}  // namespace

std::vector<StreamSpec> kiln_streams(const TopologyOptions& options) {
  return {
      StreamSpec{kEventsStream, {"kiln.build.>"}, 0, options.duplicate_window_seconds},
      StreamSpec{kLogsStream,
                 {"kiln.log.>"},
                 options.log_max_age_days * 24 * 3600,
                 120,
                 -1,
                 options.logs_max_bytes,
                 false},
      StreamSpec{kUploadsStream,
                 {"kiln.upload.>"},
                 24 * 3600,
                 3600,
                 1024 * 1024,
                 options.uploads_max_bytes,
                 true},
  };
}

ConsumerSpec dispatcher_consumer(const TopologyOptions&) {
  return {kEventsStream, "dispatcher", "kiln.build.>", 30, 10000, -1};
}
ConsumerSpec builder_consumer(const TopologyOptions& options) {
  return {kEventsStream,
          "builder",
          events::build_subject_filter("dispatched"),
          options.builder_ack_wait_seconds,
          1000,
          -1};
}
ConsumerSpec pusher_consumer(const TopologyOptions& options) {
  return {kEventsStream,
          "pusher",
          events::build_subject_filter("built"),
          options.pusher_ack_wait_seconds,
          1000,
          -1};
}
ConsumerSpec analytics_consumer(const TopologyOptions&) {
  return {kEventsStream, "analytics", "kiln.build.>", 30, 20000, -1};
}

Status ensure_stream(Bus& bus, const StreamSpec& spec) {
  std::vector<const char*> subjects;
  for (const auto& s : spec.subjects) subjects.push_back(s.c_str());
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = spec.name.c_str();
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Storage = js_FileStorage;
  cfg.Retention = js_LimitsPolicy;
  cfg.MaxAge = spec.max_age_seconds * kNanosPerSecond;
  cfg.Duplicates = spec.duplicate_window_seconds * kNanosPerSecond;
  cfg.MaxMsgSize = spec.max_msg_size;
  cfg.MaxBytes = spec.max_bytes;
  cfg.Discard = spec.refuse_when_full ? js_DiscardNew : js_DiscardOld;
  cfg.Replicas = bus.options().replicas;

  jsStreamInfo* raw_info = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw_info, bus.js(), spec.name.c_str(), nullptr, &js_code);
  StreamInfoHandle info(raw_info);
  if (s == NATS_NOT_FOUND || js_code == JSStreamNotFoundErr) {
    jsStreamInfo* created = nullptr;
    s = js_AddStream(&created, bus.js(), &cfg, nullptr, &js_code);
    StreamInfoHandle created_handle(created);
    // A concurrent starter may have created it between our lookup and our add.
    if (s != NATS_OK && js_code != JSStreamNameExistErr) {
      return nats_error("js_AddStream", s, js_code);
    }
    return {};
  }
  if (s != NATS_OK) return nats_error("js_GetStreamInfo", s, js_code);
  jsStreamInfo* updated = nullptr;
  s = js_UpdateStream(&updated, bus.js(), &cfg, nullptr, &js_code);
  StreamInfoHandle updated_handle(updated);
  if (s != NATS_OK) return nats_error("js_UpdateStream", s, js_code);
  return {};
}

Status ensure_consumer(Bus& bus, const ConsumerSpec& spec) {
  jsConsumerConfig cfg;
  jsConsumerConfig_Init(&cfg);
  cfg.Durable = spec.durable.c_str();
  cfg.Name = spec.durable.c_str();
  cfg.FilterSubject = spec.filter_subject.c_str();
  cfg.AckPolicy = js_AckExplicit;
  cfg.DeliverPolicy = js_DeliverAll;
  cfg.AckWait = spec.ack_wait_seconds * kNanosPerSecond;
  cfg.MaxAckPending = spec.max_ack_pending;
  cfg.MaxDeliver = spec.max_deliver;
  cfg.MaxWaiting = 512;

  jsConsumerInfo* raw_info = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetConsumerInfo(&raw_info, bus.js(), spec.stream.c_str(), spec.durable.c_str(),
                                    nullptr, &js_code);
  ConsumerInfoHandle info(raw_info);
  if (s == NATS_NOT_FOUND || js_code == JSConsumerNotFoundErr) {
    jsConsumerInfo* created = nullptr;
    s = js_AddConsumer(&created, bus.js(), spec.stream.c_str(), &cfg, nullptr, &js_code);
    ConsumerInfoHandle created_handle(created);
    if (s != NATS_OK && js_code != JSConsumerNameExistErr &&
        js_code != JSConsumerExistingActiveErr) {
      return nats_error("js_AddConsumer", s, js_code);
    }
    return {};
  }
  if (s != NATS_OK) return nats_error("js_GetConsumerInfo", s, js_code);
  jsConsumerInfo* updated = nullptr;
  s = js_UpdateConsumer(&updated, bus.js(), spec.stream.c_str(), &cfg, nullptr, &js_code);
  ConsumerInfoHandle updated_handle(updated);
  if (s != NATS_OK) return nats_error("js_UpdateConsumer", s, js_code);
  return {};
}

KeyValue::Options workers_bucket_options() {
  KeyValue::Options options;
  options.history = 1;
  options.ttl_seconds = 24 * 3600;  // a worker silent for a day is forgotten
  return options;
}

KeyValue::Options build_secrets_bucket_options() {
  KeyValue::Options options;
  options.history = 1;
  options.ttl_seconds = 24 * 3600;  // a build queued longer than a day fails without its secrets
  return options;
}

Status provision(Bus& bus, const TopologyOptions& options) {
  for (const auto& stream : kiln_streams(options)) {
    if (auto st = ensure_stream(bus, stream); !st) return st;
  }
  if (auto kv = KeyValue::open(bus, kProjectsBucket, KeyValue::Options{}); !kv) return kv.error();
  KeyValue::Options leases;
  leases.history = 1;
  leases.ttl_seconds = 15;
  if (auto kv = KeyValue::open(bus, kLeasesBucket, leases); !kv) return kv.error();
  if (auto kv = KeyValue::open(bus, kWorkersBucket, workers_bucket_options()); !kv) {
    return kv.error();
  }
  if (auto kv = KeyValue::open(bus, kBuildSecretsBucket, build_secrets_bucket_options()); !kv) {
    return kv.error();
  }
  return {};
}

}  // namespace kiln::bus
