// Reading a build's log lines from stream KILN_LOGS (subject kiln.log.<build id>, LogBatch
// messages numbered by line).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "common/result.h"
#include "kiln/events/v1/events.pb.h"

namespace kiln::analytics {

struct LogLine {
  std::int64_t n = 0;
  std::int64_t at_ms = 0;
  std::string stream;
  std::string text;
};

// The number of the last line stored so far (0 when the build has no log yet).
Result<std::int64_t> last_log_line(bus::Bus& bus, const std::string& build_id);

// Lines numbered >= `from` stored so far, at most `limit`.
Result<std::vector<LogLine>> read_log_lines(bus::Bus& bus, const std::string& build_id,
                                            std::int64_t from, std::size_t limit);

// The lines of one batch numbered >= `from`, appended to `out`.
void append_lines(const events::v1::LogBatch& batch, std::int64_t from, std::vector<LogLine>& out);

std::string log_line_json(const LogLine& line);

}  // namespace kiln::analytics
