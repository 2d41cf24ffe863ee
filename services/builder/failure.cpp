#include "builder/failure.h"

#include <iterator>

namespace kiln::builder {
namespace {

constexpr std::size_t kTailLines = 40;
constexpr std::size_t kMaxReason = 300;

bool starts_with_any(std::string_view line) {
  for (std::string_view prefix : {"Error:", "error:", "Error ", "fatal:", "ERRO"}) {
    if (line.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

// buildah's "Error: building at STEP ...: exit status N" says which step failed but not why; the
// step's own last line of output (after buildah's "STEP n/m:" header) usually does.
bool is_failed_step(std::string_view line) {
  return line.find("building at STEP") != std::string_view::npos &&
         line.find("exit status") != std::string_view::npos;
}

}  // namespace

std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  // Go tools chain errors as "what: where: cause", so a long line keeps its end, where the cause
  // (no space left on device, permission denied) is, as well as its start.
  if (out.size() > kMaxReason) {
    const std::size_t head = kMaxReason / 3;
    const std::size_t tail = kMaxReason - head - 5;
    out = out.substr(0, head) + " ... " + out.substr(out.size() - tail);
  }
  return out;
}

void OutputTail::add(std::string_view line) {
  if (line.find_first_not_of(" \t") == std::string_view::npos) return;
  lines_.emplace_back(line);
  if (lines_.size() > kTailLines) lines_.pop_front();
}

std::string OutputTail::reason(std::string_view fallback) const {
  for (auto it = lines_.rbegin(); it != lines_.rend(); ++it) {
    if (!starts_with_any(*it)) continue;
    if (is_failed_step(*it)) {
      for (auto before = std::next(it); before != lines_.rend(); ++before) {
        if (before->rfind("STEP ", 0) == 0) break;
        if (starts_with_any(*before) || is_failed_step(*before)) continue;
        return one_line(*it + " (the step's last line: " + *before + ")");
      }
    }
    return one_line(*it);
  }
  if (!lines_.empty()) return one_line(lines_.back());
  return one_line(fallback);
}

std::string OutputTail::first_error(std::string_view fallback) const {
  for (const auto& line : lines_) {
    if (starts_with_any(line)) return one_line(line);
  }
  return reason(fallback);
}

}  // namespace kiln::builder
