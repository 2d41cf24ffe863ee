#include "builder/log_stream.h"

#include "builder/event_out.h"
#include "bus/consumer.h"
#include "bus/retry.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "common/log.h"
#include "events/subjects.h"

namespace kiln::builder {

LogStream::LogStream(bus::Bus& bus, std::string build_id, const SecretMasker& masker,
                     std::int64_t first_line, std::int64_t max_bytes)
    : bus_(bus),
      build_id_(std::move(build_id)),
      subject_(events::log_subject(build_id_)),
      masker_(masker),
      next_line_(first_line),
      max_bytes_(max_bytes) {
  pending_.set_build_id(build_id_);
  pending_.set_first_line(next_line_);
  flusher_ = std::thread([this] { flush_loop(); });
}

LogStream::~LogStream() { close(); }

void LogStream::add(std::string_view stream, std::string_view text) {
  std::string masked = masker_.mask(text);
  std::lock_guard lock(mutex_);
  if (max_bytes_ > 0 && (dropped_lines_ > 0 ||
                         stored_bytes_ + static_cast<std::int64_t>(masked.size()) > max_bytes_)) {
    dropped_bytes_ += static_cast<std::int64_t>(masked.size());
    if (dropped_lines_++ == 0) {
      stream = "kiln";
      masked = "kiln: the log reached build.log-max-bytes (" + std::to_string(max_bytes_) +
               " bytes); later lines are not stored, the build goes on";
    } else {
      return;
    }
  }
  stored_bytes_ += static_cast<std::int64_t>(masked.size());
  auto* line = pending_.add_lines();
  line->set_at_ms(now_ms());
  line->set_stream(std::string(stream));
  line->set_text(masked);
  pending_bytes_ += masked.size() + 16;
  ++next_line_;
  if (pending_bytes_ >= kMaxBatchBytes ||
      static_cast<std::size_t>(pending_.lines_size()) >= kMaxBatchLines ||
      pending_.lines_size() == 1) {
    cv_.notify_one();
  }
}

std::int64_t LogStream::next_line() const {
  std::lock_guard lock(mutex_);
  return next_line_;
}

std::int64_t LogStream::dropped_lines() const {
  std::lock_guard lock(mutex_);
  return dropped_lines_;
}

void LogStream::flush_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [this] { return closing_ || pending_.lines_size() > 0; });
    if (pending_.lines_size() == 0 && closing_) return;
    // Collect for up to the flush interval after the first line, unless the batch fills.
    cv_.wait_for(lock, std::chrono::milliseconds(kFlushIntervalMs), [this] {
      return closing_ || pending_bytes_ >= kMaxBatchBytes ||
             static_cast<std::size_t>(pending_.lines_size()) >= kMaxBatchLines;
    });
    events::v1::LogBatch batch;
    batch.Swap(&pending_);
    pending_.set_build_id(build_id_);
    pending_.set_first_line(next_line_);
    pending_bytes_ = 0;
    lock.unlock();
    publish(std::move(batch));
    lock.lock();
  }
}

void LogStream::publish(events::v1::LogBatch batch) {
  const std::string msg_id = build_id_ + ":log:" + std::to_string(batch.first_line());
  const std::string data = batch.SerializeAsString();
  // Lines wait out a stream leader's election (the next batches gather meanwhile).
  auto ack =
      bus::retry_transient(kPublishWindow, [&] { return bus_.publish(subject_, data, msg_id); });
  if (!ack.ok()) {
    log::warn("log batch lost", {{"build_id", build_id_},
                                 {"first_line", static_cast<std::int64_t>(batch.first_line())},
                                 {"error", ack.error().describe()}});
  }
}

void LogStream::close() {
  {
    std::lock_guard lock(mutex_);
    if (closing_) return;
    if (dropped_lines_ > 0) {
      // The tally, past the cap like the marker: a reader sees how much is missing.
      auto* line = pending_.add_lines();
      line->set_at_ms(now_ms());
      line->set_stream("kiln");
      line->set_text("kiln: " + std::to_string(dropped_lines_) + " lines (" +
                     std::to_string(dropped_bytes_) + " bytes) were not stored");
      ++next_line_;
    }
    closing_ = true;
  }
  cv_.notify_one();
  if (flusher_.joinable()) flusher_.join();
}

Result<std::int64_t> next_log_line(bus::Bus& bus, const std::string& build_id) {
  auto last = bus::last_message(bus, bus::kLogsStream, events::log_subject(build_id));
  if (!last.ok()) return last.error();
  if (!last->has_value()) return std::int64_t{1};
  events::v1::LogBatch batch;
  if (!batch.ParseFromArray((*last)->data().data(), static_cast<int>((*last)->data().size()))) {
    return make_error(ErrorCode::kDataLoss, "last log batch of " + build_id + " is not a LogBatch");
  }
  return batch.first_line() + batch.lines_size();
}

}  // namespace kiln::builder
