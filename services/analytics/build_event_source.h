// The producer behind a build's live stream, shared by both transports (SSE at
// /v1/builds/{id}/events, WebSocket at /v1/builds/{id}/stream): first everything that happened so
// far (build events from KILN_EVENTS and log lines from KILN_LOGS, merged by time), then live, and
// it ends after the terminal event and the log lines written before it.
//
// Frames: `status` (requested, queued, dispatched, started, built, pushed, cancel_requested,
// succeeded, failed, cancelled), `step` (step_started, step_finished), `log` (one line), `done`
// (last). Every frame carries the resume position "<event seq>:<log line>": the KILN_EVENTS
// sequence of the last build event and the number of the last log line delivered so far. Starting
// from a position gives build events after that sequence and log lines after that line, so a
// client that reconnects misses and repeats nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "bus/bus.h"
#include "bus/consumer.h"

namespace kiln::analytics {

struct StreamPosition {
  std::uint64_t event_seq = 0;
  std::int64_t log_line = 0;
  bool operator==(const StreamPosition&) const = default;
};

std::string format_position(const StreamPosition& position);
// nullopt when `text` is not "<digits>:<digits>".
std::optional<StreamPosition> parse_position(const std::string& text);

struct StreamFrame {
  StreamPosition id;  // the position after this frame
  std::string event;  // status | step | log | done
  std::string data;   // one line of JSON
};

class BuildEventSource {
 public:
  // Opens the readers; throws http::HttpError when they cannot be opened, so a transport calls
  // this before it starts its response. `status_before` is the build's status when the client
  // connected: a finished build whose events were all delivered before ends at once.
  BuildEventSource(bus::Bus& bus, std::string build_id, StreamPosition from,
                   std::string status_before);

  struct Sink {
    std::function<void(const StreamFrame&)> send;  // throws when the client went away
    std::function<void()> heartbeat;               // after a quiet while; throws likewise
    std::function<bool()> keep_going;              // false: stop now (shutdown, client closed)
  };
  // Produces frames until `done` was sent or the sink stops it. Exceptions from the sink and from
  // the stream reads propagate.
  void run(const Sink& sink);

 private:
  bus::Bus& bus_;
  std::string build_id_;
  StreamPosition position_;
  std::string status_before_;
  std::unique_ptr<bus::SubjectReader> events_;
  std::unique_ptr<bus::SubjectReader> logs_;
};

}  // namespace kiln::analytics
