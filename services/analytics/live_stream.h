// GET /v1/builds/{id}/events — a build's progress as Server-Sent Events: first everything that
// happened so far (build events from KILN_EVENTS and log lines from KILN_LOGS, merged by time),
// then live, and the stream closes after the terminal event.
//
// Event types: `status` (requested, queued, dispatched, started, built, pushed, cancel_requested,
// succeeded, failed, cancelled), `step` (step_started, step_finished), `log` (one line), `done`
// (last, after the terminal status and the remaining log lines).
//
// Every event's `id:` is the resume position "<event seq>:<log line>": the KILN_EVENTS sequence of
// the last build event and the number of the last log line delivered so far. A client that
// reconnects with `Last-Event-ID: 17:42` (or ?last_event_id=17:42) gets build events after stream
// sequence 17 and log lines after 42, so nothing is repeated or missed.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "bus/bus.h"
#include "http/server.h"
#include "services/analytics/query_api.h"

namespace kiln::analytics {

struct StreamPosition {
  std::uint64_t event_seq = 0;
  std::int64_t log_line = 0;
  bool operator==(const StreamPosition&) const = default;
};

std::string format_position(const StreamPosition& position);
// nullopt when `text` is not "<digits>:<digits>".
std::optional<StreamPosition> parse_position(const std::string& text);

// One SSE frame: "id: ...\nevent: ...\ndata: ...\n\n" (data is one line of JSON).
std::string sse_frame(const StreamPosition& id, const std::string& event, const std::string& data);

class LiveStream {
 public:
  LiveStream(bus::Bus& bus, QueryApi& api, http::Metrics& metrics);

  void register_routes(http::Server& server);
  // Ends every open stream soon (at shutdown, before the HTTP server drains).
  void stop() { stopping_ = true; }

 private:
  void serve(http::Request& request, Poco::Net::HTTPServerResponse& response);

  bus::Bus& bus_;
  QueryApi& api_;
  http::Metrics& metrics_;
  std::atomic<bool> stopping_{false};
};

}  // namespace kiln::analytics
