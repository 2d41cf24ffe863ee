// How a build stage ends when it does not succeed: the stage, a one-line reason and an exit
// code, as `failed` (or `cancelled`) carries them.
#pragma once

#include <deque>
#include <string>
#include <string_view>

#include "kiln/events/v1/events.pb.h"

namespace kiln::builder {

struct Failure {
  events::v1::Stage stage = events::v1::BUILD;
  std::string reason;  // one line
  int exit_code = 1;
  bool cancelled = false;  // stopped by a cancel request, not an error
};

// The last lines a child printed, to pick a reason from when it fails.
class OutputTail {
 public:
  void add(std::string_view line);
  // The most telling line: the last "Error:"/"error:"/"fatal:" line, else the last line, else
  // `fallback`; cut to one line of at most 300 characters.
  std::string reason(std::string_view fallback) const;
  // The first error line instead: git prints the cause first and generic advice after it.
  std::string first_error(std::string_view fallback) const;

 private:
  std::deque<std::string> lines_;
};

std::string one_line(std::string_view text);

}  // namespace kiln::builder
