// The build projections: applying KILN_EVENTS messages to the tables of
// migrations/*projections.sql.
//
// apply_batch() is deterministic and idempotent: it skips every event whose stream sequence is at
// or below the checkpoint, applies the rest in sequence order and moves the checkpoint, all inside
// the caller's transaction. Replaying the whole stream into empty tables (rebuild) therefore gives
// the same rows as any incremental apply of the same stream, however it was batched or redelivered.
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "bus/message.h"

namespace kiln::analytics {

// One message of KILN_EVENTS, as stored: its stream sequence, subject and protobuf bytes.
struct StoredEvent {
  std::uint64_t seq = 0;
  std::string subject;
  std::string data;
  std::int64_t stored_at_ms = 0;  // when the stream stored it: the time of an event without one
};

StoredEvent to_stored_event(const bus::Message& message);

// The name of the checkpoint row and the advisory lock that serialises writers of the projections
// (replicas of kiln-analytics sharing the durable, and the swap of a rebuild).
inline constexpr char kCheckpointName[] = "analytics";
inline constexpr long long kApplyLockKey = 0x6b696c6e61;  // "kilna"

// Takes the projection write lock for the rest of `tx`.
void lock_projections(pqxx::work& tx);
std::uint64_t read_checkpoint(pqxx::work& tx);

struct BatchResult {
  std::uint64_t applied = 0;  // events newer than the checkpoint
  std::uint64_t skipped = 0;  // at or below it: redeliveries and replays
  std::uint64_t checkpoint = 0;
};

// Applies `events` (any order, duplicates allowed) after `checkpoint`, then stores the new
// checkpoint. Does not commit and does not take the lock (callers do both).
BatchResult apply_batch(pqxx::work& tx, std::uint64_t checkpoint, std::vector<StoredEvent> events);

// The rank of a status: a build's status only ever moves to a higher rank.
int status_rank(const std::string& status);

}  // namespace kiln::analytics
