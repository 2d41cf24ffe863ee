// The projection applier: the durable pull consumer `analytics` on kiln.build.>, applying each
// fetched batch in one PostgreSQL transaction together with its checkpoint, then acking.
//
// Failure model: PostgreSQL down → the batch is kept unacked and retried with backoff (JetStream
// may redeliver meanwhile; the checkpoint makes that harmless), readiness reports it. A crash
// between commit and ack → the redelivered messages are at or below the checkpoint and skipped.
// A gap (messages delivered past ones not yet applied, e.g. after a crash before commit, or a
// second replica) → the missing range is read straight from the stream, in order, so nothing is
// skipped.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "bus/bus.h"
#include "bus/consumer.h"
#include "bus/topology.h"
#include "common/result.h"
#include "http/metrics.h"

namespace kiln::analytics {

struct ApplierOptions {
  std::string database_url;
  int batch_size = 500;
  int fetch_timeout_ms = 100;
  int max_backoff_ms = 5000;
  std::uint64_t max_ready_lag = 10000;  // /readyz fails while more events than this wait
  bus::ConsumerSpec consumer = bus::analytics_consumer();
};

class Applier {
 public:
  Applier(bus::Bus& bus, ApplierOptions options, http::Metrics& metrics);
  ~Applier();
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  // Runs the fetch-apply-ack loop on its own thread until stop().
  void start();
  void stop();

  // One round: fetch, apply (retrying while PostgreSQL fails, until stop()), ack. Returns the
  // number of messages fetched. With `ack` false the messages are left unacked, as after a crash
  // between commit and ack (used by tests).
  Result<std::size_t> run_once(bool ack = true);

  // Not ready while PostgreSQL fails or the lag exceeds max_ready_lag.
  Status ready() const;
  std::uint64_t checkpoint() const { return checkpoint_.load(); }

 private:
  void loop();
  Status bind();
  // Applies the messages and commits; throws whatever PostgreSQL or the stream read throws.
  // Applies the batch in one transaction. PostgreSQL failures throw (libpqxx; run_once retries
  // them); a failure to read a gap from NATS is returned with nothing committed.
  Status apply(const std::vector<bus::Message>& batch);
  void sleep_backoff(int& backoff_ms);

  bus::Bus& bus_;
  ApplierOptions options_;
  http::Metrics& metrics_;
  std::unique_ptr<bus::PullConsumer> consumer_;
  std::unique_ptr<pqxx::connection> connection_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> database_failing_{false};
  std::atomic<std::uint64_t> lag_events_{0};
  std::atomic<std::uint64_t> checkpoint_{0};
  mutable std::mutex error_mutex_;
  std::string last_error_;
};

}  // namespace kiln::analytics
