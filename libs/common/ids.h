// Identifiers and digests used across services.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln {

// A random 128-bit id as 32 lowercase hex characters with dashes (UUID v4 layout).
std::string random_id();
// A deterministic id in the same layout, derived from `seed` with SHA-256: the same webhook
// delivery or schedule tick always maps to the same build id, across restarts and replicas.
std::string stable_id(std::string_view seed);

std::string sha256_hex(std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// Compares in time independent of where the inputs differ (for signatures and tokens).
bool constant_time_equals(std::string_view a, std::string_view b);

std::int64_t now_ms();
// RFC 3339 UTC with milliseconds, e.g. 2026-11-30T02:00:00.123Z.
std::string format_time_ms(std::int64_t unix_ms);

}  // namespace kiln
