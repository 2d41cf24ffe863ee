// Configuration of a RegistryClient, and the per-call controls (cancellation, byte progress).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "registry/credentials.h"

namespace kiln::registry {

// Retries of one request (or of one whole blob upload) on connection errors, timeouts, 408, 429
// and 5xx. Attempt n (n >= 1) waits min(max_delay, base_delay * 2^(n-1)) scaled by a random
// factor in [0.5, 1.0] ("equal jitter"), except that a 429/503 with Retry-After: <seconds> waits
// that long (capped at max_retry_after). Other 4xx are never retried.
struct RetryPolicy {
  int max_attempts = 5;  // total tries, including the first; 1 disables retries
  std::chrono::milliseconds base_delay{200};
  std::chrono::milliseconds max_delay{10'000};
  std::chrono::milliseconds max_retry_after{60'000};
};

struct RegistryOptions {
  // "registry.example.com", "127.0.0.1:5000". No scheme, no path.
  std::string host;
  // Plain http:// (for a local registry). Default https:// with certificate verification, which
  // this flag does not turn off.
  bool insecure = false;
  // Empty = anonymous. Sent as Basic to a registry that asks for Basic, or to the token realm of
  // a registry that asks for Bearer; never to any other host.
  Credentials credentials;
  // CA bundle for TLS verification; empty = the system default.
  std::string ca_file;

  // Blob transfers that push_layout runs at once (also the number of pooled connections).
  int parallelism = 4;
  // Blobs larger than chunked_threshold go up in PATCH requests of chunk_size bytes
  // (POST, PATCH..., PUT ?digest=); smaller ones in a single PUT.
  std::int64_t chunk_size = 16 << 20;
  std::int64_t chunked_threshold = 64 << 20;

  RetryPolicy retry;
  std::chrono::milliseconds connect_timeout{10'000};
  // Total time of a request without a blob body (HEAD, POST, manifest, token).
  std::chrono::milliseconds request_timeout{60'000};
  // A blob transfer is aborted when it moves fewer than 1 KiB/s for this long (no total limit).
  std::chrono::milliseconds stall_timeout{60'000};

  std::string user_agent = "kiln-registry/0.1";
};

// Returns true when the caller wants the operation stopped; checked between requests, during
// backoff sleeps and from curl's progress callback (so an upload in flight stops within ~1 s).
// A stopped operation returns ErrorCode::kCancelled.
using CancelFn = std::function<bool()>;

// A CancelFn reading `flag` (which must outlive every call using it). nullptr = never cancelled.
inline CancelFn cancel_when(const std::atomic<bool>* flag) {
  if (flag == nullptr) return {};
  return [flag] { return flag->load(std::memory_order_relaxed); };
}

struct TransferControl {
  CancelFn cancel;
  // Called with the number of body bytes sent (upload) or received (download) since the previous
  // call, from the thread running the transfer. Bytes re-sent by a retry are counted again.
  std::function<void(std::int64_t)> on_bytes;
};

}  // namespace kiln::registry
