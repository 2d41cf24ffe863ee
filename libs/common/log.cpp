#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "common/ids.h"

namespace kiln::log {
namespace {

std::string g_service = "kiln";
std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
std::mutex g_write_mutex;

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void init(std::string_view service, std::string_view min_level) {
  g_service = std::string(service);
  Level level = Level::kInfo;
  if (min_level == "debug") level = Level::kDebug;
  if (min_level == "warn") level = Level::kWarn;
  if (min_level == "error") level = Level::kError;
  g_min_level = static_cast<int>(level);
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

void write(Level level, std::string_view msg, Fields fields) {
  if (static_cast<int>(level) < g_min_level.load()) return;
  std::string line = "{\"ts\":\"" + format_time_ms(now_ms()) + "\",\"level\":\"" +
                     std::string(level_name(level)) + "\",\"service\":\"" + json_escape(g_service) +
                     "\",\"msg\":\"" + json_escape(msg) + "\"";
  for (const auto& f : fields) {
    line += ",\"" + json_escape(f.key) + "\":";
    std::visit(
        [&line](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::string>) {
            line += "\"" + json_escape(v) + "\"";
          } else if constexpr (std::is_same_v<V, bool>) {
            line += v ? "true" : "false";
          } else {
            line += std::to_string(v);
          }
        },
        f.value);
  }
  line += "}\n";
  std::lock_guard lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace kiln::log
