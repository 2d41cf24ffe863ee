// The JetStream key-value buckets: kiln_projects (project configuration, one key per project) and
// kiln_leases (scheduler leadership). Values are opaque bytes; callers choose the encoding.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bus/bus.h"

namespace kiln::bus {

struct KvEntry {
  std::string key;
  std::string value;
  std::uint64_t revision = 0;
  bool deleted = false;  // a delete or purge marker (only seen by watchers)
};

class KvWatcher {
 public:
  KvWatcher() = default;
  // Stops and drains before it frees (handles.h: close_watcher).
  ~KvWatcher();
  KvWatcher(const KvWatcher&) = delete;
  KvWatcher& operator=(const KvWatcher&) = delete;

  // The next change; nullopt after `timeout_ms` without one. The first calls return the current
  // value of every key, then one entry with an empty key marks "initial values done".
  Result<std::optional<KvEntry>> next(int timeout_ms);

 private:
  friend class KeyValue;
  natsConnection* connection_ = nullptr;  // the Bus's, which outlives its watchers
  KvWatcherHandle watcher_;
};

class KeyValue {
 public:
  struct Options {
    int history = 5;
    std::int64_t ttl_seconds = 0;  // 0: entries never expire
  };
  // Opens the bucket, creating it with `options` when it does not exist.
  static Result<std::unique_ptr<KeyValue>> open(Bus& bus, const std::string& bucket,
                                                const Options& options);

  Result<std::optional<KvEntry>> get(const std::string& key);
  Result<std::uint64_t> put(const std::string& key, const std::string& value);
  // Fails with kAlreadyExists when the key has a value.
  Result<std::uint64_t> create(const std::string& key, const std::string& value);
  // Compare-and-set: fails with kFailedPrecondition unless the key is at `expected_revision`.
  Result<std::uint64_t> update(const std::string& key, const std::string& value,
                               std::uint64_t expected_revision);
  Status remove(const std::string& key);
  // Removes every stored value of `key` from the stream, not only hides it (a delete keeps the
  // old value until the history limit drops it); a purge marker is all that stays.
  Status purge(const std::string& key);
  Result<std::vector<std::string>> keys();
  Result<std::unique_ptr<KvWatcher>> watch_all();

 private:
  KeyValue() = default;
  natsConnection* connection_ = nullptr;
  KvStoreHandle store_;
};

}  // namespace kiln::bus
