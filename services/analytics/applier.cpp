#include "analytics/applier.h"

#include <algorithm>
#include <chrono>
#include <pqxx/pqxx>

#include "analytics/metrics.h"
#include "analytics/projection.h"
#include "common/failpoint.h"
#include "common/ids.h"
#include "common/log.h"
#include "store/store.h"

namespace kiln::analytics {
namespace {

constexpr int kGapReadTimeoutMs = 5000;

Result<std::vector<StoredEvent>> read_range(bus::Bus& bus, const bus::ConsumerSpec& spec,
                                            std::uint64_t from, std::uint64_t to) {
  auto reader = bus::SubjectReader::open(bus, spec.stream, spec.filter_subject,
                                         bus::SubjectReader::Start::kSequence, from);
  if (!reader.ok()) return reader.error();
  std::vector<StoredEvent> out;
  while (out.empty() || out.back().seq < to) {
    auto next = (*reader)->next(kGapReadTimeoutMs);
    if (!next.ok()) return next.error();
    if (!next->has_value()) {
      return make_error(ErrorCode::kDeadlineExceeded, "stream read of sequences " +
                                                          std::to_string(from) + ".." +
                                                          std::to_string(to) + " timed out");
    }
    out.push_back(to_stored_event(**next));
  }
  return out;
}

}  // namespace

Applier::Applier(bus::Bus& bus, ApplierOptions options, http::Metrics& metrics)
    : bus_(bus), options_(std::move(options)), metrics_(metrics) {}

Applier::~Applier() { stop(); }

void Applier::start() {
  stop_ = false;
  thread_ = std::thread([this] { loop(); });
}

void Applier::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

Status Applier::bind() {
  if (consumer_) return {};
  if (auto s = bus::ensure_consumer(bus_, options_.consumer); !s.ok()) return s;
  auto bound = bus::PullConsumer::bind(bus_, options_.consumer);
  if (!bound.ok()) return bound.error();
  consumer_ = std::move(bound.value());
  return {};
}

void Applier::sleep_backoff(int& backoff_ms) {
  for (int waited = 0; waited < backoff_ms && !stop_; waited += 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  backoff_ms = std::min(backoff_ms * 2, options_.max_backoff_ms);
}

void Applier::loop() {
  int backoff_ms = 100;
  while (!stop_) {
    auto round = run_once(true);
    if (!round.ok()) {
      log::warn("analytics consumer failed; retrying", {{"error", round.error().describe()}});
      consumer_.reset();  // bind again: the durable may have been recreated
      sleep_backoff(backoff_ms);
      continue;
    }
    backoff_ms = 100;
  }
}

Result<std::size_t> Applier::run_once(bool ack) {
  if (auto s = bind(); !s.ok()) return s.error();
  auto fetched = consumer_->fetch(options_.batch_size, options_.fetch_timeout_ms);
  if (!fetched.ok()) return fetched.error();
  auto& batch = *fetched;
  if (batch.empty()) {
    lag_events_ = 0;
    metrics_.gauge_set(metric::kProjectionLagEvents, 0);
    metrics_.gauge_set(metric::kProjectionLagSeconds, 0);
    return std::size_t{0};
  }
  int backoff_ms = 100;
  while (true) {
    try {
      if (auto applied = apply(batch); !applied.ok()) {
        // NATS, not PostgreSQL, failed (reading a gap); nothing was committed. Hand the batch
        // back at once rather than after AckWait.
        for (auto& message : batch) (void)message.nak();
        return applied.error();
      }
      break;
    } catch (const std::exception& e) {
      // Nothing was committed: keep the batch unacked and try again, PostgreSQL may be restarting.
      connection_.reset();
      database_failing_ = true;
      {
        std::lock_guard lock(error_mutex_);
        last_error_ = e.what();
      }
      metrics_.counter_add(metric::kApplyFailures);
      metrics_.gauge_set(metric::kDatabaseUp, 0);
      std::int64_t oldest_ns = batch.front().timestamp_ns();
      for (const auto& m : batch) oldest_ns = std::min(oldest_ns, m.timestamp_ns());
      metrics_.gauge_set(metric::kProjectionLagSeconds,
                         static_cast<double>(now_ms() - oldest_ns / 1000000) / 1000.0);
      log::warn("applying events failed; batch kept unacked, retrying",
                {{"error", e.what()}, {"events", batch.size()}, {"backoff_ms", backoff_ms}});
      sleep_backoff(backoff_ms);
      if (stop_) return make_error(ErrorCode::kCancelled, "stopped while PostgreSQL was failing");
    }
  }
  // Committed, not acked: a kill here makes every event of the batch come back (chaos suite).
  KILN_FAILPOINT("analytics.after_commit");
  database_failing_ = false;
  metrics_.gauge_set(metric::kDatabaseUp, 1);
  if (!ack) return batch.size();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto& message = batch[i];
    // A lost ack only means a redelivery, which the checkpoint skips. One confirmed ack per batch
    // instead of one round trip per message: the last one confirms the others, sent before it.
    const bool last = i + 1 == batch.size();
    if (auto s = last ? message.ack() : message.ack_async(); !s.ok()) {
      log::warn("ack failed; the event will be redelivered and skipped",
                {{"seq", static_cast<std::int64_t>(message.stream_sequence())},
                 {"error", s.error().describe()}});
    }
  }
  const auto& last = batch.back();
  lag_events_ = last.pending();
  metrics_.gauge_set(metric::kProjectionLagEvents, static_cast<double>(last.pending()));
  metrics_.gauge_set(metric::kProjectionLagSeconds,
                     last.pending() == 0
                         ? 0.0
                         : static_cast<double>(now_ms() - last.timestamp_ns() / 1000000) / 1000.0);
  return batch.size();
}

Status Applier::apply(const std::vector<bus::Message>& batch) {
  const auto started = std::chrono::steady_clock::now();
  if (!connection_) connection_ = store::connect(options_.database_url);
  std::vector<StoredEvent> events;
  events.reserve(batch.size());
  for (const auto& m : batch) events.push_back(to_stored_event(m));
  std::sort(events.begin(), events.end(),
            [](const StoredEvent& a, const StoredEvent& b) { return a.seq < b.seq; });

  pqxx::work tx(*connection_);
  lock_projections(tx);
  const std::uint64_t checkpoint = read_checkpoint(tx);
  // Every sequence of KILN_EVENTS is on kiln.build.>, so the new events must follow the
  // checkpoint without holes; a hole means earlier messages are still out for redelivery.
  std::uint64_t expect = checkpoint + 1;
  bool contiguous = true;
  for (const auto& e : events) {
    if (e.seq < expect) continue;
    if (e.seq != expect) {
      contiguous = false;
      break;
    }
    ++expect;
  }
  if (!contiguous) {
    log::info("gap before delivered events; reading the range from the stream",
              {{"from", static_cast<std::int64_t>(checkpoint + 1)},
               {"to", static_cast<std::int64_t>(events.back().seq)}});
    auto range = read_range(bus_, options_.consumer, checkpoint + 1, events.back().seq);
    if (!range.ok()) return range.error();
    events = std::move(range.value());
  }
  const BatchResult result = apply_batch(tx, checkpoint, std::move(events));
  tx.commit();
  checkpoint_ = result.checkpoint;
  metrics_.counter_add(metric::kEventsApplied, {}, static_cast<double>(result.applied));
  metrics_.counter_add(metric::kEventsSkipped, {}, static_cast<double>(result.skipped));
  metrics_.gauge_set(metric::kCheckpoint, static_cast<double>(result.checkpoint));
  metrics_.observe(
      metric::kBatchApplySeconds,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return {};
}

Status Applier::ready() const {
  if (database_failing_) {
    std::lock_guard lock(error_mutex_);
    return make_error(ErrorCode::kUnavailable,
                      "applying events to PostgreSQL fails: " + last_error_);
  }
  if (lag_events_ > options_.max_ready_lag) {
    return make_error(ErrorCode::kUnavailable,
                      "projection lag " + std::to_string(lag_events_.load()) + " events exceeds " +
                          std::to_string(options_.max_ready_lag));
  }
  return {};
}

}  // namespace kiln::analytics
