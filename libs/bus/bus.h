// libs/bus — kiln's only door to NATS JetStream (nats.c underneath).
//
// Error convention: every fallible call returns kiln::Result<T>; an Error names the nats.c call
// that failed, and peer_code carries the JetStream error code ("JS 10071") when there is one.
// Nothing here throws, except std::bad_alloc.
//
// Thread safety: a Bus (connection + JetStream context) is shared by all threads of a service;
// a PullConsumer, SubjectReader or Watcher belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bus/handles.h"
#include "bus/message.h"
#include "common/result.h"

namespace kiln::bus {

struct BusOptions {
  std::string url = "nats://127.0.0.1:4222";  // comma-separated list for a cluster
  std::string name = "kiln";                  // connection name shown by the server
  // The user this connection authenticates as (bus/permissions.h); empty: none. (Initialized so
  // that designated initializers may leave them out.)
  std::string user{};
  std::string password{};
  int connect_timeout_ms = 2000;
  int reconnect_wait_ms = 250;
  int max_reconnect = -1;  // -1: retry forever; the connection survives server restarts
  bool retry_on_failed_connect = false;  // true: start even when the server is not up yet
  int request_timeout_ms = 5000;         // JetStream API calls and publish acks
  // Copies of every stream and bucket this connection creates: 3 on a 3-node cluster, so one
  // node can die without losing an acknowledged event.
  int replicas = 1;
};

struct PublishAck {
  std::string stream;
  std::uint64_t sequence = 0;
  bool duplicate = false;  // the server had this Nats-Msg-Id inside the duplicate window
};

class Bus {
 public:
  static Result<std::unique_ptr<Bus>> connect(const BusOptions& options);

  // Publishes and waits for the JetStream ack. `msg_id` becomes Nats-Msg-Id (never empty: every
  // kiln event has an identity). `expected_last_subject_seq`, when set, makes the publish fail
  // with kFailedPrecondition unless the subject's last sequence is that value (0 = no message yet).
  Result<PublishAck> publish(std::string_view subject, std::string_view data,
                             std::string_view msg_id,
                             std::optional<std::uint64_t> expected_last_subject_seq = {});
  // Same, with a timeout shorter than the default (webhook-ingest answers the Git host in time).
  Result<PublishAck> publish_within(std::string_view subject, std::string_view data,
                                    std::string_view msg_id, int timeout_ms);

  // True when the connection is up (not reconnecting or closed).
  bool connected() const;
  // Round trip to the JetStream API; used by /readyz.
  Status ping_jetstream(int timeout_ms = 1000) const;

  jsCtx* js() const { return js_.get(); }
  natsConnection* connection() const { return connection_.get(); }
  const BusOptions& options() const { return options_; }

 private:
  Bus() = default;
  BusOptions options_;
  ConnectionHandle connection_;
  JsHandle js_;
};

// Asynchronous publishing for throughput (log lines, benchmarks): publish() returns once the
// message is handed to the library; wait() blocks until every outstanding ack is in and reports
// the failures. Owns its own JetStream context so its ack handler counts only its messages.
class AsyncPublisher {
 public:
  struct Stats {
    std::uint64_t acked = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t failed = 0;
    std::string first_error;
  };

  static Result<std::unique_ptr<AsyncPublisher>> create(Bus& bus, int max_pending = 4096);
  ~AsyncPublisher();

  Status publish(std::string_view subject, std::string_view data, std::string_view msg_id);
  // Waits for all outstanding acks; the stats cover everything since the previous wait().
  Result<Stats> wait(int timeout_ms = 10000);

 private:
  AsyncPublisher() = default;
  static void on_ack(jsCtx*, natsMsg*, jsPubAck*, jsPubAckErr*, void* closure);
  JsHandle js_;
  struct Counters;
  std::unique_ptr<Counters> counters_;
};

}  // namespace kiln::bus
