#include "analytics/build_event_source.h"

#include <chrono>
#include <deque>
#include <vector>

#include "analytics/log_reader.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "events/envelope.h"
#include "events/subjects.h"
#include "http/server.h"
#include "json/writer.h"

namespace kiln::analytics {
namespace {

namespace v1 = ::kiln::events::v1;

constexpr int kPollMs = 50;
constexpr auto kHeartbeat = std::chrono::seconds(15);
// After the terminal event, log lines still in flight get this long to arrive.
constexpr int kLogDrainMs = 500;
// Catching up with the stored log may take long (a reader replaying 100,000 lines on a busy
// server); only this long without a single new line counts as stuck.
constexpr auto kLogStall = std::chrono::seconds(30);

bool terminal_type(v1::Envelope::PayloadCase c) {
  return c == v1::Envelope::kSucceeded || c == v1::Envelope::kFailed ||
         c == v1::Envelope::kCancelled;
}

// The `data:` of a build event: seq, type and at always, then the status it moves the build to
// (if any) and what the event says.
std::string event_json(std::uint64_t seq, const v1::Envelope& e) {
  json::Object out;
  out.add("seq", seq)
      .add("type", events::type_name(e.payload_case()))
      .add("build_id", e.build_id())
      .add("at", format_time_ms(e.occurred_at_ms()));
  if (const std::string status = events::implied_status(e.payload_case()); !status.empty()) {
    out.add("status", status);
  }
  switch (e.payload_case()) {
    case v1::Envelope::kQueued:
      out.add("position", e.queued().position());
      break;
    case v1::Envelope::kDispatched:
      out.add("attempt", e.dispatched().attempt());
      break;
    case v1::Envelope::kStarted:
      out.add("worker_id", e.started().worker_id());
      break;
    case v1::Envelope::kStepStarted:
      out.add("step", e.step_started().step())
          .add("total", e.step_started().total())
          .add("instruction", e.step_started().instruction());
      break;
    case v1::Envelope::kStepFinished: {
      const auto& s = e.step_finished();
      const int progress = s.total() > 0 ? s.step() * 100 / s.total() : 0;
      out.add("step", s.step())
          .add("total", s.total())
          .add("instruction", s.instruction())
          .add("cached", s.cached())
          .add("duration_ms", s.duration_ms())
          .add("layer_digest", s.layer_digest())
          .add("progress", progress);
      break;
    }
    case v1::Envelope::kBuilt:
      out.add("digest", e.built().manifest_digest());
      break;
    case v1::Envelope::kPushed:
      out.add("digest", e.pushed().digest());
      break;
    case v1::Envelope::kSucceeded:
      out.add("image_url", e.succeeded().image_url()).add("digest", e.succeeded().digest());
      break;
    case v1::Envelope::kFailed:
      out.add("failure_stage", events::stage_name(e.failed().stage()))
          .add("failure_reason", e.failed().reason());
      break;
    case v1::Envelope::kCancelRequested:
      out.add("by", e.cancel_requested().by()).add("reason", e.cancel_requested().reason());
      break;
    case v1::Envelope::kCancelled:
      out.add("reason", e.cancelled().reason());
      break;
    default:
      break;
  }
  return out.str();
}

std::string done_json(const std::string& build_id, std::string_view status) {
  return json::Object().add("build_id", build_id).add("status", status).str();
}

bool is_terminal_status(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "cancelled";
}

}  // namespace

std::string format_position(const StreamPosition& p) {
  return std::to_string(p.event_seq) + ":" + std::to_string(p.log_line);
}

std::optional<StreamPosition> parse_position(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size() || text.size() > 40) {
    return std::nullopt;
  }
  const std::string a = text.substr(0, colon);
  const std::string b = text.substr(colon + 1);
  if (a.find_first_not_of("0123456789") != std::string::npos ||
      b.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return StreamPosition{std::stoull(a), std::stoll(b)};
}

BuildEventSource::BuildEventSource(bus::Bus& bus, std::string build_id, StreamPosition from,
                                   std::string status_before)
    : bus_(bus),
      build_id_(std::move(build_id)),
      position_(from),
      status_before_(std::move(status_before)) {
  auto events_reader =
      bus::SubjectReader::open(bus_, bus::kEventsStream, events::build_events_filter(build_id_),
                               position_.event_seq > 0 ? bus::SubjectReader::Start::kSequence
                                                       : bus::SubjectReader::Start::kAll,
                               position_.event_seq + 1);
  if (!events_reader.ok()) http::throw_error(events_reader.error());
  events_ = std::move(events_reader.value());
  auto logs_reader = bus::SubjectReader::open(
      bus_, bus::kLogsStream, events::log_subject(build_id_), bus::SubjectReader::Start::kAll);
  if (!logs_reader.ok()) http::throw_error(logs_reader.error());
  logs_ = std::move(logs_reader.value());
}

void BuildEventSource::run(const Sink& sink) {
  const bool finished_before = is_terminal_status(status_before_);
  auto send = [&](const std::string& event, const std::string& data) {
    sink.send(StreamFrame{position_, event, data});
  };

  struct PendingEvent {
    std::uint64_t seq;
    v1::Envelope envelope;
  };
  std::optional<PendingEvent> next_event;
  std::deque<LogLine> lines;
  bool events_idle = false;
  bool logs_idle = false;

  auto pull_event = [&](int timeout_ms) {
    while (!next_event) {
      auto next = events_->next(timeout_ms);
      if (!next.ok()) throw std::runtime_error(next.error().describe());
      if (!next->has_value()) {
        events_idle = true;
        return;
      }
      events_idle = false;
      auto decoded = events::decode((*next)->data());
      if (!decoded.ok()) continue;  // history shows it; a live view has nothing to say about it
      next_event = PendingEvent{(*next)->stream_sequence(), std::move(decoded.value())};
    }
  };
  auto pull_lines = [&](int timeout_ms) {
    while (lines.empty()) {
      auto next = logs_->next(timeout_ms);
      if (!next.ok()) throw std::runtime_error(next.error().describe());
      if (!next->has_value()) {
        logs_idle = true;
        return;
      }
      logs_idle = false;
      events::v1::LogBatch batch;
      const auto data = (*next)->data();
      if (!batch.ParseFromArray(data.data(), static_cast<int>(data.size()))) continue;
      std::vector<LogLine> fresh;
      append_lines(batch, position_.log_line + 1, fresh);
      lines.insert(lines.end(), fresh.begin(), fresh.end());
    }
  };
  auto send_line = [&]() {
    LogLine line = std::move(lines.front());
    lines.pop_front();
    position_.log_line = line.n;
    send("log", log_line_json(line));
  };
  // Sends every line stored so far before the stream may end. An empty `lines` only means the log
  // reader has not caught up yet (it may have just started, or be replaying a long log on a busy
  // server), never that the log is over: ending on it cut streams short by tens of thousands of
  // lines. False when the sink asked to stop meanwhile.
  auto send_stored_lines = [&]() {
    auto end = last_log_line(bus_, build_id_);
    if (!end.ok()) throw std::runtime_error(end.error().describe());
    auto last_line = std::chrono::steady_clock::now();
    while (position_.log_line < *end) {
      if (!sink.keep_going()) return false;
      if (lines.empty()) pull_lines(kPollMs);
      if (lines.empty()) {
        if (std::chrono::steady_clock::now() - last_line > kLogStall) {
          throw std::runtime_error("log reader stuck at line " +
                                   std::to_string(position_.log_line) + " of " +
                                   std::to_string(*end));
        }
        continue;
      }
      send_line();
      last_line = std::chrono::steady_clock::now();
    }
    return true;
  };

  bool caught_up = false;  // with the lines stored when the terminal event was read
  auto last_write = std::chrono::steady_clock::now();
  while (sink.keep_going()) {
    pull_event(kPollMs);
    pull_lines(kPollMs);
    if (next_event && terminal_type(next_event->envelope.payload_case()) && !caught_up) {
      if (!send_stored_lines()) return;
      caught_up = true;
    }
    if (next_event &&
        (lines.empty() || next_event->envelope.occurred_at_ms() <= lines.front().at_ms)) {
      PendingEvent e = std::move(*next_event);
      next_event.reset();
      position_.event_seq = e.seq;
      const auto kind = e.envelope.payload_case();
      const bool step = kind == v1::Envelope::kStepStarted || kind == v1::Envelope::kStepFinished;
      send(step ? "step" : "status", event_json(e.seq, e.envelope));
      if (terminal_type(kind)) {
        // Lines written before the end may still be on their way; give them a moment.
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kLogDrainMs);
        while (std::chrono::steady_clock::now() < deadline) {
          pull_lines(kPollMs);
          while (!lines.empty()) send_line();
        }
        send("done", done_json(build_id_, events::type_name(kind)));
        return;
      }
      last_write = std::chrono::steady_clock::now();
    } else if (!lines.empty()) {
      send_line();
      last_write = std::chrono::steady_clock::now();
    } else if (finished_before && events_idle && logs_idle) {
      // Resumed after the terminal event had already been delivered: nothing more will come
      // once the stored lines are out.
      if (!send_stored_lines()) return;
      while (!lines.empty()) send_line();
      send("done", done_json(build_id_, status_before_));
      return;
    } else if (std::chrono::steady_clock::now() - last_write > kHeartbeat) {
      sink.heartbeat();
      last_write = std::chrono::steady_clock::now();
    }
  }
}

}  // namespace kiln::analytics
