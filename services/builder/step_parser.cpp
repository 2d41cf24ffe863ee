#include "builder/step_parser.h"

#include <algorithm>
#include <charconv>

namespace kiln::builder {
namespace {

bool parse_int(std::string_view text, int& out) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// Parses "a/b" into two ints.
bool parse_fraction(std::string_view text, int& a, int& b) {
  const auto slash = text.find('/');
  return slash != std::string_view::npos && parse_int(text.substr(0, slash), a) &&
         parse_int(text.substr(slash + 1), b);
}

// Strips a leading "[s/S] " stage marker; sets `stage` to s (1 when absent).
std::string_view strip_stage(std::string_view line, int& stage) {
  stage = 1;
  if (line.empty() || line.front() != '[') return line;
  const auto close = line.find("] ");
  int stages = 0;
  if (close == std::string_view::npos ||
      !parse_fraction(line.substr(1, close - 1), stage, stages)) {
    stage = 1;
    return line;
  }
  return line.substr(close + 2);
}

}  // namespace

int StepParser::total() const {
  return std::max(total_hint_, std::max(step_, done_stages_total_ + stage_total_));
}

std::optional<StepEvent> StepParser::close(std::int64_t now_ms) {
  if (!open_) return std::nullopt;
  open_ = false;
  StepEvent event;
  event.kind = StepEvent::Kind::kFinished;
  event.step = step_;
  event.total = total();
  event.instruction = open_instruction_;
  event.cached = open_cached_;
  event.duration_ms = std::max<std::int64_t>(0, now_ms - open_since_ms_);
  event.layer_digest = open_layer_;
  if (open_cached_) ++cached_;
  return event;
}

std::vector<StepEvent> StepParser::feed(std::string_view line, std::int64_t now_ms) {
  std::vector<StepEvent> events;
  int stage = 1;
  const std::string_view rest = strip_stage(line, stage);

  if (rest.rfind("STEP ", 0) == 0) {
    const auto colon = rest.find(": ");
    int n = 0;
    int m = 0;
    if (colon == std::string_view::npos || !parse_fraction(rest.substr(5, colon - 5), n, m)) {
      return events;
    }
    if (auto finished = close(now_ms)) events.push_back(*finished);
    if (stage != stage_) {
      done_stages_total_ += stage_total_;
      stage_ = stage;
    }
    stage_total_ = m;
    ++step_;
    open_ = true;
    open_cached_ = false;
    open_layer_.clear();
    open_instruction_ = std::string(rest.substr(colon + 2));
    open_since_ms_ = now_ms;
    StepEvent started;
    started.kind = StepEvent::Kind::kStarted;
    started.step = step_;
    started.total = total();
    started.instruction = open_instruction_;
    events.push_back(started);
  } else if (rest.rfind("COMMIT", 0) == 0) {
    if (auto finished = close(now_ms)) events.push_back(*finished);
  } else if (rest.rfind("--> Using cache ", 0) == 0) {
    if (open_) {
      open_cached_ = true;
      open_layer_ = std::string(rest.substr(16));
    }
  } else if (rest.rfind("--> ", 0) == 0 && open_ && open_layer_.empty()) {
    open_layer_ = std::string(rest.substr(4));
  }
  return events;
}

std::optional<StepEvent> StepParser::finish(std::int64_t now_ms) { return close(now_ms); }

}  // namespace kiln::builder
