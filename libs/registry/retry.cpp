#include "registry/retry.h"

#include <curl/curl.h>

#include <algorithm>
#include <ctime>
#include <mutex>
#include <random>
#include <string>
#include <thread>

namespace kiln::registry {

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, double jitter01) {
  double delay = static_cast<double>(policy.base_delay.count());
  for (int i = 1; i < attempt && delay < policy.max_delay.count(); ++i) delay *= 2;
  delay = std::min(delay, static_cast<double>(policy.max_delay.count()));
  delay *= 0.5 + std::clamp(jitter01, 0.0, 1.0) / 2;
  return std::chrono::milliseconds(static_cast<std::int64_t>(delay));
}

double random_unit() {
  static std::mutex mutex;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(mutex);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return std::chrono::milliseconds(std::chrono::hours(24 * 365));
    return std::chrono::seconds(std::stol(std::string(value)));
  }
  const std::string text(value);
  const std::time_t when = curl_getdate(text.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  const std::time_t now = std::time(nullptr);
  return std::chrono::seconds(when > now ? when - now : 0);
}

Status sleep_unless_cancelled(std::chrono::milliseconds delay, const CancelFn& cancel) {
  const auto until = std::chrono::steady_clock::now() + delay;
  for (;;) {
    if (cancel && cancel()) return make_error(ErrorCode::kCancelled, "cancelled");
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) return {};
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(50)));
  }
}

}  // namespace kiln::registry
