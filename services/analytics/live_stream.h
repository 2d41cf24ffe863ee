// A build's live stream over two transports, both fed by one BuildEventSource:
//   GET /v1/builds/{id}/events   Server-Sent Events: `id: <position>`, `event: <type>`, `data:
//                                <json>`; resume with `Last-Event-ID: <position>` (or
//                                ?last_event_id=); the response ends after `done`.
//   GET /v1/builds/{id}/stream   WebSocket (for clients that expect a socket): one JSON text frame
//                                per event, {"id":"<position>","event":"<type>","data":{...}};
//                                resume with ?from=<position>; a close frame (1000) after `done`.
// Both need a bearer token with the read role (sent with the upgrade request for the WebSocket);
// another tenant's build is 404, a malformed position 422, a plain GET on /stream 400.
#pragma once

#include <atomic>
#include <string>

#include "analytics/build_event_source.h"
#include "analytics/query_api.h"
#include "bus/bus.h"
#include "http/server.h"

namespace kiln::analytics {

// One SSE frame: "id: ...\nevent: ...\ndata: ...\n\n" (data is one line of JSON).
std::string sse_frame(const StreamPosition& id, const std::string& event, const std::string& data);
// One WebSocket text frame's payload: {"id":...,"event":...,"data":<data>}.
std::string websocket_frame(const StreamFrame& frame);

class LiveStream {
 public:
  LiveStream(bus::Bus& bus, QueryApi& api, http::Metrics& metrics);

  void register_routes(http::Server& server);
  // Ends every open stream soon (at shutdown, before the HTTP server drains).
  void stop() { stopping_ = true; }

 private:
  // Authorises the request and opens the source at `resume` (a position, or empty for the
  // beginning); throws HttpError before anything is sent.
  BuildEventSource open_source(http::Request& request, const std::string& resume,
                               const std::string& parameter);
  void serve_sse(http::Request& request, Poco::Net::HTTPServerResponse& response);
  void serve_websocket(http::Request& request, Poco::Net::HTTPServerResponse& response);

  bus::Bus& bus_;
  QueryApi& api_;
  http::Metrics& metrics_;
  std::atomic<bool> stopping_{false};
};

}  // namespace kiln::analytics
