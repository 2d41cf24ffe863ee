#include "analytics/log_reader.h"

#include "bus/consumer.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "common/log.h"
#include "events/subjects.h"
#include "json/writer.h"

namespace kiln::analytics {
namespace {

constexpr int kReadTimeoutMs = 3000;

Result<events::v1::LogBatch> parse_batch(std::string_view data) {
  events::v1::LogBatch batch;
  if (!batch.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return make_error(ErrorCode::kDataLoss, "not a kiln.events.v1.LogBatch");
  }
  return batch;
}

}  // namespace

void append_lines(const events::v1::LogBatch& batch, std::int64_t from, std::vector<LogLine>& out) {
  for (int i = 0; i < batch.lines_size(); ++i) {
    const std::int64_t n = batch.first_line() + i;
    if (n < from) continue;
    const auto& line = batch.lines(i);
    out.push_back(LogLine{n, line.at_ms(), line.stream(), line.text()});
  }
}

Result<std::int64_t> last_log_line(bus::Bus& bus, const std::string& build_id) {
  auto last = bus::last_message(bus, bus::kLogsStream, events::log_subject(build_id));
  if (!last.ok()) return last.error();
  if (!last->has_value()) return std::int64_t{0};
  auto batch = parse_batch((*last)->data());
  if (!batch.ok()) return batch.error();
  return batch->first_line() + batch->lines_size() - 1;
}

Result<std::vector<LogLine>> read_log_lines(bus::Bus& bus, const std::string& build_id,
                                            std::int64_t from, std::size_t limit) {
  std::vector<LogLine> out;
  const std::string subject = events::log_subject(build_id);
  // The last batch says where the log ends today, so the read stops there instead of waiting.
  auto last = last_log_line(bus, build_id);
  if (!last.ok()) return last.error();
  const std::int64_t end = *last;
  if (end < from) return out;

  auto reader =
      bus::SubjectReader::open(bus, bus::kLogsStream, subject, bus::SubjectReader::Start::kAll);
  if (!reader.ok()) return reader.error();
  std::int64_t seen = 0;
  while (seen < end && out.size() < limit) {
    auto next = (*reader)->next(kReadTimeoutMs);
    if (!next.ok()) return next.error();
    if (!next->has_value()) {
      return make_error(ErrorCode::kDeadlineExceeded, "reading " + subject + " timed out");
    }
    auto batch = parse_batch((*next)->data());
    if (!batch.ok()) {
      log::warn("skipping undecodable log batch", {{"subject", subject}});
      continue;
    }
    append_lines(*batch, from, out);
    seen = std::max(seen, batch->first_line() + batch->lines_size() - 1);
  }
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::string log_line_json(const LogLine& line) {
  return json::Object()
      .add("n", line.n)
      .add("text", line.text)
      .add("stream", line.stream)
      .add("at", format_time_ms(line.at_ms))
      .str();
}

}  // namespace kiln::analytics
