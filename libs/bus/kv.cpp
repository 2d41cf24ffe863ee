#include "bus/kv.h"

#include <chrono>
#include <thread>

namespace kiln::bus {
namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

KvEntry to_entry(kvEntry* e) {
  KvEntry out;
  out.key = kvEntry_Key(e);
  const char* data = static_cast<const char*>(kvEntry_Value(e));
  out.value.assign(data ? data : "", static_cast<size_t>(kvEntry_ValueLen(e)));
  out.revision = kvEntry_Revision(e);
  const kvOperation op = kvEntry_Operation(e);
  out.deleted = op == kvOp_Delete || op == kvOp_Purge;
  return out;
}

// Waits until the bucket's stream answers a read (a missing key is an answer). On a cluster a
// bucket just created has no leader for a moment, and a put then fails with "no responders":
// a service that opened a bucket may use it at once.
natsStatus await_answering(kvStore* store, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    kvEntry* raw = nullptr;
    natsStatus s = kvStore_Get(&raw, store, "kiln-probe");
    KvEntryHandle entry(raw);
    if (s == NATS_OK || s == NATS_NOT_FOUND) return NATS_OK;
    if ((s != NATS_NO_RESPONDERS && s != NATS_TIMEOUT) ||
        std::chrono::steady_clock::now() > deadline) {
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

Result<std::unique_ptr<KeyValue>> KeyValue::open(Bus& bus, const std::string& bucket,
                                                 const Options& options) {
  auto kv = std::unique_ptr<KeyValue>(new KeyValue());
  kv->connection_ = bus.connection();
  kvStore* raw = nullptr;
  natsStatus s = js_KeyValue(&raw, bus.js(), bucket.c_str());
  if (s == NATS_NOT_FOUND) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = bucket.c_str();
    cfg.History = static_cast<uint8_t>(options.history);
    cfg.TTL = options.ttl_seconds * kNanosPerSecond;
    cfg.StorageType = js_FileStorage;
    cfg.Replicas = bus.options().replicas;
    s = js_CreateKeyValue(&raw, bus.js(), &cfg);
    if (s != NATS_OK) {
      // Another replica may have created it first.
      s = js_KeyValue(&raw, bus.js(), bucket.c_str());
    }
  }
  if (s != NATS_OK) return nats_error(("open bucket " + bucket).c_str(), s);
  kv->store_.reset(raw);
  if (s = await_answering(raw, 3 * bus.options().request_timeout_ms); s != NATS_OK) {
    return nats_error(("open bucket " + bucket + " (waiting for its leader)").c_str(), s);
  }
  return kv;
}

Result<std::optional<KvEntry>> KeyValue::get(const std::string& key) {
  kvEntry* raw = nullptr;
  natsStatus s = kvStore_Get(&raw, store_.get(), key.c_str());
  KvEntryHandle entry(raw);
  if (s == NATS_NOT_FOUND) return std::optional<KvEntry>{};
  if (s != NATS_OK) return nats_error("kvStore_Get", s);
  return std::optional<KvEntry>(to_entry(entry.get()));
}

Result<std::uint64_t> KeyValue::put(const std::string& key, const std::string& value) {
  uint64_t revision = 0;
  if (natsStatus s = kvStore_Put(&revision, store_.get(), key.c_str(), value.data(),
                                 static_cast<int>(value.size()));
      s != NATS_OK) {
    return nats_error("kvStore_Put", s);
  }
  return revision;
}

Result<std::uint64_t> KeyValue::create(const std::string& key, const std::string& value) {
  uint64_t revision = 0;
  natsStatus s = kvStore_Create(&revision, store_.get(), key.c_str(), value.data(),
                                static_cast<int>(value.size()));
  if (s != NATS_OK) {
    Error error = nats_error("kvStore_Create", s);
    if (error.peer_code == "JS 10071" || s == NATS_ERR) error.code = ErrorCode::kAlreadyExists;
    return error;
  }
  return revision;
}

Result<std::uint64_t> KeyValue::update(const std::string& key, const std::string& value,
                                       std::uint64_t expected_revision) {
  uint64_t revision = 0;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus s = kvStore_Update(&revision, store_.get(), key.c_str(), value.data(),
                                static_cast<int>(value.size()), expected_revision);
  if (s != NATS_OK) {
    Error error = nats_error("kvStore_Update", s, js_code);
    if (s == NATS_ERR) error.code = ErrorCode::kFailedPrecondition;
    return error;
  }
  return revision;
}

Status KeyValue::remove(const std::string& key) {
  if (natsStatus s = kvStore_Delete(store_.get(), key.c_str()); s != NATS_OK) {
    return nats_error("kvStore_Delete", s);
  }
  return {};
}

Status KeyValue::purge(const std::string& key) {
  if (natsStatus s = kvStore_Purge(store_.get(), key.c_str(), nullptr); s != NATS_OK) {
    return nats_error("kvStore_Purge", s);
  }
  return {};
}

Result<std::vector<std::string>> KeyValue::keys() {
  kvKeysList list{};
  natsStatus s = kvStore_Keys(&list, store_.get(), nullptr);
  std::vector<std::string> out;
  if (s == NATS_NOT_FOUND) return out;
  if (s != NATS_OK) {
    kvKeysList_Destroy(&list);
    return nats_error("kvStore_Keys", s);
  }
  for (int i = 0; i < list.Count; ++i) out.emplace_back(list.Keys[i]);
  kvKeysList_Destroy(&list);
  return out;
}

Result<std::unique_ptr<KvWatcher>> KeyValue::watch_all() {
  kvWatcher* raw = nullptr;
  if (natsStatus s = kvStore_WatchAll(&raw, store_.get(), nullptr); s != NATS_OK) {
    return nats_error("kvStore_WatchAll", s);
  }
  auto watcher = std::make_unique<KvWatcher>();
  watcher->watcher_.reset(raw);
  watcher->connection_ = connection_;
  return watcher;
}

KvWatcher::~KvWatcher() { close_watcher(connection_, watcher_); }

Result<std::optional<KvEntry>> KvWatcher::next(int timeout_ms) {
  kvEntry* raw = nullptr;
  natsStatus s = kvWatcher_Next(&raw, watcher_.get(), timeout_ms);
  KvEntryHandle entry(raw);
  if (s == NATS_TIMEOUT) return std::optional<KvEntry>{};
  if (s != NATS_OK) return nats_error("kvWatcher_Next", s);
  if (!entry) return std::optional<KvEntry>(KvEntry{});  // end of initial values
  return std::optional<KvEntry>(to_entry(entry.get()));
}

}  // namespace kiln::bus
