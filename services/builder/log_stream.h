// A build's log lines on KILN_LOGS (kiln.log.<build id>): masked whole, numbered consecutively
// (1-based, continuing after lines an earlier attempt published), and sent as LogBatch messages
// when a batch is full or 100 ms after its first line, so a watcher sees lines promptly. An
// attempt's log is capped at `max_bytes` of line text: past it, one marker line says so and later
// lines are counted, not stored, while the build goes on (one build printing in a loop must not
// fill KILN_LOGS).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "builder/secret_masker.h"
#include "bus/bus.h"
#include "kiln/events/v1/events.pb.h"

namespace kiln::builder {

class LogStream {
 public:
  static constexpr std::size_t kMaxBatchBytes = 64 * 1024;
  static constexpr std::size_t kMaxBatchLines = 500;
  static constexpr int kFlushIntervalMs = 100;

  // Starts numbering at `first_line` (see next_log_line); `max_bytes` 0: no cap.
  LogStream(bus::Bus& bus, std::string build_id, const SecretMasker& masker,
            std::int64_t first_line, std::int64_t max_bytes = 0);
  ~LogStream();
  LogStream(const LogStream&) = delete;
  LogStream& operator=(const LogStream&) = delete;

  // `stream`: stdout, stderr or kiln (the builder's own lines).
  void add(std::string_view stream, std::string_view text);
  // Publishes what is left and stops the flusher. Logs are not worth failing a build for:
  // publish errors are logged and counted, never returned to the pipeline.
  void close();
  // The number the next line will get.
  std::int64_t next_line() const;
  // Lines dropped after the cap (0: the log is whole).
  std::int64_t dropped_lines() const;

 private:
  void flush_loop();
  void publish(events::v1::LogBatch batch);

  bus::Bus& bus_;
  std::string build_id_;
  std::string subject_;
  const SecretMasker& masker_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  events::v1::LogBatch pending_;
  std::size_t pending_bytes_ = 0;
  std::int64_t next_line_;
  bool closing_ = false;
  const std::int64_t max_bytes_;
  std::int64_t stored_bytes_ = 0;
  std::int64_t dropped_lines_ = 0;
  std::int64_t dropped_bytes_ = 0;
  std::thread flusher_;
};

// The line number after the last one stored for the build (1 when there is none), so a second
// attempt continues the numbering and its Msg-Ids never collide with the first's.
Result<std::int64_t> next_log_line(bus::Bus& bus, const std::string& build_id);

}  // namespace kiln::builder
