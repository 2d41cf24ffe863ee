#include "support/stream_clients.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/NetException.h>

#include <sstream>

namespace kiln::testing {

SseClient::SseClient(int port, const std::string& path, const std::string& token,
                     const std::string& last_event_id, Poco::Timespan timeout)
    : session_("127.0.0.1", static_cast<Poco::UInt16>(port)) {
  session_.setTimeout(timeout);
  Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!token.empty()) request.set("Authorization", "Bearer " + token);
  if (!last_event_id.empty()) request.set("Last-Event-ID", last_event_id);
  session_.sendRequest(request);
  in_ = &session_.receiveResponse(response_);
}

std::optional<StreamFrame> SseClient::next() {
  StreamFrame frame;
  std::string line;
  while (std::getline(*in_, line)) {
    if (line.empty()) {
      if (!frame.event.empty()) return frame;
      continue;
    }
    if (line.rfind("id: ", 0) == 0) frame.id = line.substr(4);
    if (line.rfind("event: ", 0) == 0) frame.event = line.substr(7);
    if (line.rfind("data: ", 0) == 0) frame.data = line.substr(6);
  }
  return std::nullopt;
}

WebSocketClient::WebSocketClient(int port, const std::string& path, const std::string& token,
                                 Poco::Timespan receive_timeout)
    : session_("127.0.0.1", static_cast<Poco::UInt16>(port)) {
  Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!token.empty()) request.set("Authorization", "Bearer " + token);
  try {
    socket_ = std::make_unique<Poco::Net::WebSocket>(session_, request, response_);
    socket_->setReceiveTimeout(receive_timeout);
  } catch (const Poco::Net::WebSocketException& e) {
    // Refused before the upgrade: the HTTP status tells why.
    error_ = e.displayText();
  }
}

WebSocketClient::Received WebSocketClient::receive() {
  int flags = 0;
  const int n = socket_->receiveFrame(buffer_.data(), static_cast<int>(buffer_.size()), flags);
  const int opcode = flags & Poco::Net::WebSocket::FRAME_OP_BITMASK;
  if (opcode == Poco::Net::WebSocket::FRAME_OP_CLOSE || n <= 0) {
    if (n >= 2) {
      close_code_ =
          (static_cast<unsigned char>(buffer_[0]) << 8) | static_cast<unsigned char>(buffer_[1]);
    }
    return {Received::kClosed, {}};
  }
  if (opcode != Poco::Net::WebSocket::FRAME_OP_TEXT) return {Received::kControl, {}};
  auto frame = Poco::JSON::Parser()
                   .parse(std::string(buffer_.data(), static_cast<std::size_t>(n)))
                   .extract<Poco::JSON::Object::Ptr>();
  std::ostringstream data;
  Poco::JSON::Stringifier::stringify(frame->get("data"), data);
  return {Received::kText,
          {frame->getValue<std::string>("id"), frame->getValue<std::string>("event"), data.str()}};
}

std::optional<StreamFrame> WebSocketClient::next() {
  while (true) {
    Received received = receive();
    if (received.kind == Received::kClosed) return std::nullopt;
    if (received.kind == Received::kText) return std::move(received.frame);
  }
}

}  // namespace kiln::testing
