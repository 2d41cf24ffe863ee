// Turns buildah's output into build steps: `[2/3] STEP 4/6: RUN make` starts a step, the next
// STEP or COMMIT line ends it, and `--> Using cache <id>` in between marks it cached.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::builder {

struct StepEvent {
  enum class Kind { kStarted, kFinished };
  Kind kind = Kind::kStarted;
  int step = 0;   // 1-based across all stages
  int total = 0;  // best knowledge so far (see StepParser)
  std::string instruction;
  bool cached = false;
  std::int64_t duration_ms = 0;
  std::string layer_digest;  // the image id buildah printed for the step, when it printed one
};

class StepParser {
 public:
  // `total_hint`: the number of instructions counted in the Dockerfile (0 when unknown).
  // buildah only tells a stage's own count, so the reported total is the larger of the hint and
  // the counts of the stages seen so far.
  explicit StepParser(int total_hint = 0) : total_hint_(total_hint) {}

  // Feeds one output line seen at `now_ms`; returns the events it completes.
  std::vector<StepEvent> feed(std::string_view line, std::int64_t now_ms);
  // Ends the open step (after a successful build); none when no step is open.
  std::optional<StepEvent> finish(std::int64_t now_ms);

  int steps_seen() const { return step_; }
  int steps_cached() const { return cached_; }

 private:
  int total() const;
  std::optional<StepEvent> close(std::int64_t now_ms);

  int total_hint_;
  int step_ = 0;
  int cached_ = 0;
  int done_stages_total_ = 0;  // sum of the step counts of finished stages
  int stage_ = 0;
  int stage_total_ = 0;
  bool open_ = false;
  bool open_cached_ = false;
  std::string open_instruction_;
  std::string open_layer_;
  std::int64_t open_since_ms_ = 0;
};

}  // namespace kiln::builder
