// Backoff arithmetic and interruptible sleeping for the retry loops. Internal to libs/registry.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "common/result.h"
#include "registry/options.h"

namespace kiln::registry {

// Delay before retry number `attempt` (1 = first retry): min(max_delay, base * 2^(attempt-1))
// scaled by (0.5 + jitter01 / 2), jitter01 in [0, 1).
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, double jitter01);

// A random number in [0, 1) for jitter (thread-safe).
double random_unit();

// Retry-After as delta-seconds or an HTTP-date; nullopt when absent or unparsable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value);

// Sleeps `delay`, waking every 50 ms to check `cancel`; kCancelled when it fires.
Status sleep_unless_cancelled(std::chrono::milliseconds delay, const CancelFn& cancel);

}  // namespace kiln::registry
