// Where the dispatcher's snapshots live: the KV bucket kiln_scheduler. A snapshot is written as
// chunks ("dispatch.<sequence>.<n>", each under NATS's 1 MiB message limit) and only then named by
// the head key "dispatch" (sequence, chunk count, SHA-256 of the whole). A kill between two writes
// leaves the previous head and its chunks whole; the chunks of older snapshots are removed after
// the head moves on. Loading checks the digest, so a damaged snapshot is ignored and the log is
// read from sequence 1 instead: a snapshot is a cache of the log, never needed for correctness.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "bus/bus.h"
#include "bus/kv.h"
#include "bus/topology.h"
#include "common/result.h"
#include "kiln/snapshot/v1/dispatch.pb.h"

namespace kiln::scheduler {

inline constexpr const char* kSchedulerBucket = bus::kSchedulerBucket;

class SnapshotStore {
 public:
  // Opens (creating) the bucket.
  static Result<std::unique_ptr<SnapshotStore>> open(bus::Bus& bus);

  Status save(const snapshot::v1::DispatchSnapshot& snapshot);
  // The newest whole snapshot; nullopt when there is none (or it is damaged: logged).
  Result<std::optional<snapshot::v1::DispatchSnapshot>> load();

 private:
  explicit SnapshotStore(std::unique_ptr<bus::KeyValue> kv) : kv_(std::move(kv)) {}
  void remove_older_than(std::uint64_t sequence);

  std::unique_ptr<bus::KeyValue> kv_;
};

}  // namespace kiln::scheduler
