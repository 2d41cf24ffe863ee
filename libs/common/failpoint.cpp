#include "common/failpoint.h"

#ifdef KILN_FAILPOINTS

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/strings.h"

namespace kiln::failpoint {
namespace {

struct Action {
  long on_hit = 0;   // 0: every hit
  std::string what;  // kill | sleep:<ms>
  long hits = 0;
};

// Parsed once from KILN_FAILPOINTS; malformed entries abort the process, since a chaos case that
// silently tests nothing is worse than one that fails loudly.
std::map<std::string, Action> parse(const char* spec) {
  std::map<std::string, Action> points;
  for (const std::string& entry : split_list(spec == nullptr ? "" : spec, ListItems::kAsWritten)) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "KILN_FAILPOINTS: entry without '=': %s\n", entry.c_str());
      std::abort();
    }
    Action action;
    std::string what = entry.substr(eq + 1);
    if (const auto star = what.find('*'); star != std::string::npos) {
      action.on_hit = std::strtol(what.substr(0, star).c_str(), nullptr, 10);
      what = what.substr(star + 1);
    }
    if (what != "kill" && what.rfind("sleep:", 0) != 0) {
      std::fprintf(stderr, "KILN_FAILPOINTS: unknown action: %s\n", what.c_str());
      std::abort();
    }
    action.what = what;
    points[entry.substr(0, eq)] = action;
  }
  return points;
}

}  // namespace

void hit(const char* name) {
  static std::mutex mutex;
  static std::map<std::string, Action> points = parse(std::getenv("KILN_FAILPOINTS"));
  std::string what;
  {
    std::lock_guard lock(mutex);
    auto it = points.find(name);
    if (it == points.end()) return;
    Action& action = it->second;
    ++action.hits;
    if (action.on_hit != 0 && action.hits != action.on_hit) return;
    what = action.what;
  }
  std::fprintf(stderr, "failpoint %s: %s\n", name, what.c_str());
  std::fflush(stderr);
  if (what == "kill") {
    ::kill(::getpid(), SIGKILL);
    ::pause();
  }
  const long ms = std::strtol(what.c_str() + 6, nullptr, 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace kiln::failpoint

#endif
