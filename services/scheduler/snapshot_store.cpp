#include "scheduler/snapshot_store.h"

#include <sstream>

#include "common/failpoint.h"
#include "common/ids.h"
#include "common/log.h"

namespace kiln::scheduler {
namespace {

constexpr char kHead[] = "dispatch";
constexpr std::size_t kChunkBytes = 512 * 1024;  // well under the 1 MiB message limit

std::string chunk_key(std::uint64_t sequence, std::size_t n) {
  return std::string(kHead) + "." + std::to_string(sequence) + "." + std::to_string(n);
}

struct Head {
  std::uint64_t sequence = 0;
  std::size_t chunks = 0;
  std::string sha256;
};

std::string encode(const Head& head) {
  return std::to_string(head.sequence) + " " + std::to_string(head.chunks) + " " + head.sha256;
}

std::optional<Head> decode(const std::string& text) {
  std::istringstream in(text);
  Head head;
  if (!(in >> head.sequence >> head.chunks >> head.sha256) || head.chunks == 0) return std::nullopt;
  return head;
}

}  // namespace

Result<std::unique_ptr<SnapshotStore>> SnapshotStore::open(bus::Bus& bus) {
  bus::KeyValue::Options options;
  options.history = 1;
  auto kv = bus::KeyValue::open(bus, kSchedulerBucket, options);
  if (!kv.ok()) return kv.error();
  return std::unique_ptr<SnapshotStore>(new SnapshotStore(std::move(kv.value())));
}

Status SnapshotStore::save(const snapshot::v1::DispatchSnapshot& snapshot) {
  const std::string bytes = snapshot.SerializeAsString();
  Head head{snapshot.sequence(), (bytes.size() + kChunkBytes - 1) / kChunkBytes, sha256_hex(bytes)};
  if (head.chunks == 0) head.chunks = 1;
  for (std::size_t n = 0; n < head.chunks; ++n) {
    const std::size_t from = n * kChunkBytes;
    const std::string chunk = from < bytes.size() ? bytes.substr(from, kChunkBytes) : "";
    if (auto put = kv_->put(chunk_key(head.sequence, n), chunk); !put.ok()) return put.error();
    // A kill here leaves a half-written snapshot nobody names (chaos: scheduler recovers).
    KILN_FAILPOINT("scheduler.snapshot_chunk_written");
  }
  if (auto put = kv_->put(kHead, encode(head)); !put.ok()) return put.error();
  remove_older_than(head.sequence);
  return {};
}

void SnapshotStore::remove_older_than(std::uint64_t sequence) {
  auto keys = kv_->keys();
  if (!keys.ok()) return;  // left for the next save to remove
  const std::string prefix = std::string(kHead) + ".";
  for (const auto& key : *keys) {
    if (key.rfind(prefix, 0) != 0) continue;
    const auto dot = key.find('.', prefix.size());
    if (dot == std::string::npos) continue;
    std::uint64_t of = 0;
    try {
      of = std::stoull(key.substr(prefix.size(), dot - prefix.size()));
    } catch (const std::exception&) {
      continue;
    }
    if (of != sequence) (void)kv_->remove(key);
  }
}

Result<std::optional<snapshot::v1::DispatchSnapshot>> SnapshotStore::load() {
  auto head_entry = kv_->get(kHead);
  if (!head_entry.ok()) return head_entry.error();
  if (!head_entry->has_value()) return std::optional<snapshot::v1::DispatchSnapshot>();
  const auto head = decode((*head_entry)->value);
  auto ignore = [](const std::string& why) {
    log::warn("scheduler snapshot ignored; reading the log from the start", {{"why", why}});
    return std::optional<snapshot::v1::DispatchSnapshot>();
  };
  if (!head) return ignore("unreadable head '" + (*head_entry)->value + "'");
  std::string bytes;
  for (std::size_t n = 0; n < head->chunks; ++n) {
    auto chunk = kv_->get(chunk_key(head->sequence, n));
    if (!chunk.ok()) return chunk.error();
    if (!chunk->has_value()) return ignore("chunk " + std::to_string(n) + " is missing");
    bytes += (*chunk)->value;
  }
  if (sha256_hex(bytes) != head->sha256) return ignore("digest mismatch");
  snapshot::v1::DispatchSnapshot snapshot;
  if (!snapshot.ParseFromString(bytes)) return ignore("not a snapshot");
  if (snapshot.format() != 1 || snapshot.sequence() != head->sequence) {
    return ignore("format " + std::to_string(snapshot.format()) + " at sequence " +
                  std::to_string(snapshot.sequence()));
  }
  return std::optional<snapshot::v1::DispatchSnapshot>(std::move(snapshot));
}

}  // namespace kiln::scheduler
