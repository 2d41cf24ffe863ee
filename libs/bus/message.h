// A message received from JetStream, owning its natsMsg. Acknowledgement calls return a Status so
// a handler can tell a stored ack from a lost one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bus/handles.h"
#include "common/result.h"

namespace kiln::bus {

class Message {
 public:
  explicit Message(natsMsg* msg);

  std::string_view subject() const;
  std::string_view data() const;
  std::string header(const char* name) const;  // empty when absent

  // JetStream metadata (zero for messages that did not come from a JetStream consumer).
  std::uint64_t stream_sequence() const { return stream_sequence_; }
  std::uint64_t consumer_sequence() const { return consumer_sequence_; }
  std::uint64_t deliveries() const { return deliveries_; }  // 1 on first delivery
  std::uint64_t pending() const { return pending_; }        // messages left after this one
  std::int64_t timestamp_ns() const { return timestamp_ns_; }

  // ack waits for the server's confirmation, so a crash after it returns never redelivers.
  Status ack();
  // Sends the ack without waiting for the server's confirmation: for all but the last message of
  // a batch, whose ack() then confirms the earlier ones too (one connection keeps them in order).
  // A lost one only means a redelivery, so use it only where redelivery is harmless.
  Status ack_async();
  Status nak(int delay_ms = 0);
  Status in_progress();  // resets the server's AckWait timer for long work
  Status term();         // never redeliver (a poison message)

 private:
  MsgHandle msg_;
  std::uint64_t stream_sequence_ = 0;
  std::uint64_t consumer_sequence_ = 0;
  std::uint64_t deliveries_ = 0;
  std::uint64_t pending_ = 0;
  std::int64_t timestamp_ns_ = 0;
};

}  // namespace kiln::bus
