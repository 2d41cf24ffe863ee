// Clients of kiln-analytics' live build stream on 127.0.0.1, as a dashboard reads it: Server-Sent
// Events (GET /v1/builds/{id}/events) and WebSocket (GET /v1/builds/{id}/stream), both with a
// bearer token. Both yield the same frames: an id (the stream position), an event name and data.
#pragma once

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/Timespan.h>

#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kiln::testing {

struct StreamFrame {
  std::string id, event, data;  // data: the SSE data line; compact JSON text over WebSocket
};

// Sends the request in the constructor (with Last-Event-ID when `last_event_id` is not empty) and
// reads frames as they arrive; Poco exceptions (timeouts, refused connections) propagate.
class SseClient {
 public:
  SseClient(int port, const std::string& path, const std::string& token,
            const std::string& last_event_id = "", Poco::Timespan timeout = Poco::Timespan(15, 0));
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  int status() const { return response_.getStatus(); }
  // The next frame (comments and keep-alives skipped), or nullopt at the end of the stream.
  std::optional<StreamFrame> next();
  // The connection, for tests that drop it abruptly (abort(), a linger of 0 for a reset).
  Poco::Net::HTTPClientSession& session() { return session_; }

 private:
  Poco::Net::HTTPClientSession session_;
  Poco::Net::HTTPResponse response_;
  std::istream* in_ = nullptr;
};

// Upgrades in the constructor; a refusal before the upgrade leaves upgraded() false, the HTTP
// status in status() and Poco's message in error(). Other Poco exceptions propagate.
class WebSocketClient {
 public:
  WebSocketClient(int port, const std::string& path, const std::string& token,
                  Poco::Timespan receive_timeout = Poco::Timespan(15, 0));
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  bool upgraded() const { return socket_ != nullptr; }
  int status() const { return response_.getStatus(); }
  const std::string& error() const { return error_; }

  // One frame of any kind: a text frame's content, a control frame (ping, pong) or the close.
  struct Received {
    enum Kind { kText, kControl, kClosed } kind = kClosed;
    StreamFrame frame;  // kText only
  };
  Received receive();
  // The next text frame (control frames skipped), or nullopt once the server closed.
  std::optional<StreamFrame> next();
  // The code of the server's close frame; 0 before it or when it carried none.
  int close_code() const { return close_code_; }
  // The socket, for tests that send frames or drop the connection themselves.
  Poco::Net::WebSocket& socket() { return *socket_; }

 private:
  Poco::Net::HTTPClientSession session_;
  Poco::Net::HTTPResponse response_;
  std::unique_ptr<Poco::Net::WebSocket> socket_;
  std::string error_;
  std::vector<char> buffer_ = std::vector<char>(1 << 16);
  int close_code_ = 0;
};

}  // namespace kiln::testing
