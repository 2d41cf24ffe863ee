// Reading from JetStream.
//
// PullConsumer binds to a durable created by ensure_consumer(): replicas of a service share it, so
// each message goes to one of them (a work queue). fetch() returns an empty batch on timeout.
//
// SubjectReader is an ordered, ephemeral, ack-less consumer for reading one subject from a start
// sequence (build logs, uploaded contexts, cancel notices): every reader sees every message.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "bus/message.h"
#include "bus/topology.h"

namespace kiln::bus {

class PullConsumer {
 public:
  static Result<std::unique_ptr<PullConsumer>> bind(Bus& bus, const ConsumerSpec& spec);
  // Drains before it frees (handles.h: close_subscription); the durable stays.
  ~PullConsumer();
  PullConsumer(const PullConsumer&) = delete;
  PullConsumer& operator=(const PullConsumer&) = delete;

  // Up to `batch` messages, waiting at most `timeout_ms`; an empty vector when none arrived.
  Result<std::vector<Message>> fetch(int batch, int timeout_ms);

 private:
  PullConsumer() = default;
  natsConnection* connection_ = nullptr;  // the Bus's, which outlives its consumers
  SubscriptionHandle subscription_;
};

class SubjectReader {
 public:
  enum class Start { kAll, kNew, kSequence };
  // `filter` may use wildcards. With Start::kSequence, delivery begins at `start_sequence`.
  static Result<std::unique_ptr<SubjectReader>> open(Bus& bus, const std::string& stream,
                                                     const std::string& filter, Start start,
                                                     std::uint64_t start_sequence = 0);

  // Unsubscribes (the server drops the ephemeral consumer) and frees the subscription only once
  // the library's read thread can no longer be handling a message for it (handles.h).
  ~SubjectReader();
  SubjectReader(const SubjectReader&) = delete;
  SubjectReader& operator=(const SubjectReader&) = delete;

  // The next message, or nullopt after `timeout_ms` without one.
  Result<std::optional<Message>> next(int timeout_ms);

  // How many messages / bytes may wait in the client before the subscription counts as a slow
  // consumer and loses messages (-1: no limit, what open() sets; the ordered consumer's flow
  // control bounds what the server sends ahead).
  Status set_pending_limits(int messages, int bytes);

 private:
  SubjectReader() = default;
  natsConnection* connection_ = nullptr;  // the Bus's, which outlives its readers
  SubscriptionHandle subscription_;
};

// The stream's configuration, state and cluster placement (kNotFound when it does not exist).
Result<StreamInfoHandle> stream_info(Bus& bus, const std::string& stream);

// The last sequence stored in `stream` (0 when empty), from the stream info: how far a
// projection is behind the log.
Result<std::uint64_t> last_stream_sequence(Bus& bus, const std::string& stream);
// Removes every message of `stream` on `subject` (wildcards allowed) at once.
Status purge_subject(Bus& bus, const std::string& stream, const std::string& subject);

// The last message stored on `subject` (no wildcards), or nullopt when there is none: "was a cancel
// already requested for this build?", "which attempt was dispatched last?".
Result<std::optional<Message>> last_message(Bus& bus, const std::string& stream,
                                            const std::string& subject);

}  // namespace kiln::bus
