// Structured logs: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-30T02:00:00.123Z","level":"info","service":"builder","msg":"build started",
//    "build_id":"..."}
// Secrets are never passed as fields; callers mask them before logging.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace kiln::log {

enum class Level { kDebug, kInfo, kWarn, kError };

struct Field {
  using Value = std::variant<std::string, std::int64_t, double, bool>;
  Field(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  template <typename I>
  requires std::is_integral_v<I> Field(std::string_view k, I v)
      : key(k), value(static_cast<std::int64_t>(v)) {}

  std::string key;
  Value value;
};

using Fields = std::initializer_list<Field>;

// Sets the "service" field of every line and the minimum level ("debug", "info", "warn", "error").
void init(std::string_view service, std::string_view min_level = "info");

void write(Level level, std::string_view msg, Fields fields = {});
inline void debug(std::string_view msg, Fields f = {}) { write(Level::kDebug, msg, f); }
inline void info(std::string_view msg, Fields f = {}) { write(Level::kInfo, msg, f); }
inline void warn(std::string_view msg, Fields f = {}) { write(Level::kWarn, msg, f); }
inline void error(std::string_view msg, Fields f = {}) { write(Level::kError, msg, f); }

// JSON string escaping, shared with anything else that hand-writes JSON.
std::string json_escape(std::string_view s);

}  // namespace kiln::log
