#include "analytics/live_stream.h"

#include <Poco/Net/NetException.h>
#include <Poco/Net/WebSocket.h>

#include <memory>
#include <ostream>

#include "analytics/metrics.h"
#include "common/log.h"
#include "json/writer.h"

namespace kiln::analytics {
namespace {

constexpr int kWebSocketSendTimeoutMs = 10000;
constexpr int kCloseReplyTimeoutMs = 2000;
constexpr int kMaxClientFrameBytes = 4096;
// Control frames as sendFrame() flags (Poco's flag and opcode enums are distinct types).
constexpr int kPongFrame =
    static_cast<int>(Poco::Net::WebSocket::FRAME_FLAG_FIN) | Poco::Net::WebSocket::FRAME_OP_PONG;
constexpr int kPingFrame =
    static_cast<int>(Poco::Net::WebSocket::FRAME_FLAG_FIN) | Poco::Net::WebSocket::FRAME_OP_PING;

// After our close frame, reads what the client still sends until its own close frame (RFC 6455
// 7.1.1). Closing the socket with a client frame unread (a pong, a ping, its close) makes the
// kernel reset the connection, and the reset can discard the end of the stream (`done`, the close
// frame) before the client has read it: the client then sees an error instead of the end and
// reconnects.
void await_close_reply(Poco::Net::WebSocket& socket) {
  socket.setReceiveTimeout(Poco::Timespan(kCloseReplyTimeoutMs * 1000LL));
  char buffer[kMaxClientFrameBytes];
  try {
    while (true) {
      int flags = 0;
      const int n = socket.receiveFrame(buffer, sizeof buffer, flags);
      if (n <= 0 || (flags & Poco::Net::WebSocket::FRAME_OP_BITMASK) ==
                        Poco::Net::WebSocket::FRAME_OP_CLOSE) {
        return;
      }
    }
  } catch (const Poco::Exception& e) {
    // No reply in time, or the client is gone: the stream was complete either way.
    log::debug("websocket close not answered", {{"reason", e.displayText()}});
  }
}

}  // namespace

std::string sse_frame(const StreamPosition& id, const std::string& event, const std::string& data) {
  return "id: " + format_position(id) + "\nevent: " + event + "\ndata: " + data + "\n\n";
}

std::string websocket_frame(const StreamFrame& frame) {
  return json::Object()
      .add("id", format_position(frame.id))
      .add("event", frame.event)
      .add("data", json::Raw{frame.data})
      .str();
}

LiveStream::LiveStream(bus::Bus& bus, QueryApi& api, http::Metrics& metrics)
    : bus_(bus), api_(api), metrics_(metrics) {}

void LiveStream::register_routes(http::Server& server) {
  server.raw_route("GET", "/v1/builds/{id}/events",
                   [this](http::Request& request, Poco::Net::HTTPServerResponse& response) {
                     serve_sse(request, response);
                   },
                   {.long_lived = true});
  server.raw_route("GET", "/v1/builds/{id}/stream",
                   [this](http::Request& request, Poco::Net::HTTPServerResponse& response) {
                     serve_websocket(request, response);
                   },
                   {.long_lived = true});
}

BuildEventSource LiveStream::open_source(http::Request& request, const std::string& resume,
                                         const std::string& parameter) {
  const http::Principal principal = api_.authorize(request);
  const std::string id = request.path_params["id"];
  const std::string status_before = api_.visible_status(principal, id);
  StreamPosition position;
  if (!resume.empty()) {
    auto parsed = parse_position(resume);
    if (!parsed) {
      throw http::HttpError(422, "invalid_argument",
                            parameter + " must be <event seq>:<log line>, got '" + resume + "'");
    }
    position = *parsed;
  }
  return BuildEventSource(bus_, id, position, status_before);
}

void LiveStream::serve_sse(http::Request& request, Poco::Net::HTTPServerResponse& response) {
  std::string resume = request.header("Last-Event-ID");
  if (resume.empty()) resume = request.query_or("last_event_id", "");
  BuildEventSource source = open_source(request, resume, "Last-Event-ID");

  response.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
  response.setContentType("text/event-stream");
  response.set("Cache-Control", "no-cache");
  response.set("X-Accel-Buffering", "no");
  response.setChunkedTransferEncoding(true);
  response.setKeepAlive(false);
  std::ostream& out = response.send();
  metrics_.counter_add(metric::kLiveStreams, {{"transport", "sse"}});
  auto write = [&out](const std::string& text) {
    out << text;
    out.flush();
    if (!out.good()) throw std::runtime_error("client went away");
  };
  try {
    source.run({
        .send = [&](const StreamFrame& f) { write(sse_frame(f.id, f.event, f.data)); },
        .heartbeat = [&] { write(": keep-alive\n\n"); },
        .keep_going = [this] { return !stopping_.load(); },
    });
  } catch (const std::exception& e) {
    // The response has started: the only way to report is the log; the client reconnects.
    log::info(
        "live stream ended",
        {{"build_id", request.path_params["id"]}, {"transport", "sse"}, {"reason", e.what()}});
  }
}

void LiveStream::serve_websocket(http::Request& request, Poco::Net::HTTPServerResponse& response) {
  BuildEventSource source = open_source(request, request.query_or("from", ""), "'from'");
  std::unique_ptr<Poco::Net::WebSocket> socket;
  try {
    socket = std::make_unique<Poco::Net::WebSocket>(*request.raw, response);
  } catch (const Poco::Net::WebSocketException& e) {
    // Nothing was sent yet: the server answers with this error.
    throw http::HttpError(400, "websocket_required",
                          "GET /v1/builds/{id}/stream is a WebSocket upgrade: " + e.message());
  }
  socket->setSendTimeout(Poco::Timespan(kWebSocketSendTimeoutMs * 1000LL));
  metrics_.counter_add(metric::kLiveStreams, {{"transport", "websocket"}});
  bool client_closed = false;
  // Reads what the client sent meanwhile without blocking: a close ends the stream, a ping gets
  // its pong, anything else is ignored (the stream is one-way).
  auto client_open = [&]() {
    char buffer[kMaxClientFrameBytes];
    while (!client_closed && socket->poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ)) {
      int flags = 0;
      const int n = socket->receiveFrame(buffer, sizeof buffer, flags);
      const int opcode = flags & Poco::Net::WebSocket::FRAME_OP_BITMASK;
      if (n <= 0 && opcode != Poco::Net::WebSocket::FRAME_OP_PING) {
        client_closed = true;
      } else if (opcode == Poco::Net::WebSocket::FRAME_OP_CLOSE) {
        client_closed = true;
      } else if (opcode == Poco::Net::WebSocket::FRAME_OP_PING) {
        socket->sendFrame(buffer, n, kPongFrame);
      }
    }
    return !client_closed;
  };
  try {
    source.run({
        .send =
            [&](const StreamFrame& f) {
              if (!client_open()) throw std::runtime_error("client closed the socket");
              const std::string text = websocket_frame(f);
              socket->sendFrame(text.data(), static_cast<int>(text.size()),
                                Poco::Net::WebSocket::FRAME_TEXT);
            },
        .heartbeat = [&] { socket->sendFrame(nullptr, 0, kPingFrame); },
        .keep_going = [&] { return !stopping_.load() && client_open(); },
    });
    // After `done` a normal close; at shutdown "going away", so the client reconnects elsewhere.
    if (!client_closed) {
      if (stopping_) {
        socket->shutdown(Poco::Net::WebSocket::WS_ENDPOINT_GOING_AWAY, "shutting down");
      } else {
        socket->shutdown(Poco::Net::WebSocket::WS_NORMAL_CLOSE, "done");
      }
      await_close_reply(*socket);
    }
  } catch (const std::exception& e) {
    log::info("live stream ended", {{"build_id", request.path_params["id"]},
                                    {"transport", "websocket"},
                                    {"reason", e.what()}});
  }
}

}  // namespace kiln::analytics
