// libs/http: a real Poco server on a free port, driven over real sockets.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "http/server.h"

namespace kiln::http {
namespace {

struct Reply {
  int status = 0;
  std::string body;
  std::string retry_after;
  std::string allow_origin;
  std::string allow_headers;
};

Reply call(int port, const std::string& method, const std::string& path,
           const std::string& body = "",
           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  session.setTimeout(Poco::Timespan(10, 0));
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  request.setContentLength64(static_cast<Poco::Int64>(body.size()));
  for (const auto& [name, value] : headers) request.set(name, value);
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Reply reply;
  reply.status = response.getStatus();
  reply.retry_after = response.get("Retry-After", "");
  reply.allow_origin = response.get("Access-Control-Allow-Origin", "");
  reply.allow_headers = response.get("Access-Control-Allow-Headers", "");
  Poco::StreamCopier::copyToString(in, reply.body);
  return reply;
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Poco::Net::StreamSocket connect_raw(int port) {
  Poco::Net::StreamSocket socket;
  socket.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
  return socket;
}

// MSG_NOSIGNAL: writing to a connection the server closed must fail, not kill the test.
bool send_raw(Poco::Net::StreamSocket& socket, const std::string& data) {
  try {
    return socket.sendBytes(data.data(), static_cast<int>(data.size()), MSG_NOSIGNAL) > 0;
  } catch (const Poco::Exception&) {
    return false;
  }
}

// One response with a Content-Length body, read off a raw socket.
std::string read_response(Poco::Net::StreamSocket& socket) {
  socket.setReceiveTimeout(Poco::Timespan(10, 0));
  std::string data;
  char buf[4096];
  while (true) {
    const auto end = data.find("\r\n\r\n");
    const auto length = data.find("Content-Length: ");
    if (end != std::string::npos && length != std::string::npos &&
        data.size() >= end + 4 + std::stoul(data.substr(length + 16))) {
      return data;
    }
    const int n = socket.receiveBytes(buf, sizeof buf);
    if (n <= 0) return data;
    data.append(buf, static_cast<size_t>(n));
  }
}

bool says_close(std::string response) {
  for (auto& c : response) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return response.find("\r\nconnection: close\r\n") != std::string::npos;
}

// Seconds until the server closes the connection (end of stream or reset), or -1 while it is still
// open after `limit_s`. Whatever the server sends meanwhile is appended to `received`.
double seconds_until_closed(Poco::Net::StreamSocket& socket, double limit_s,
                            std::string* received = nullptr) {
  const auto start = Clock::now();
  char buf[4096];
  while (seconds_since(start) < limit_s) {
    if (!socket.poll(Poco::Timespan(0, 50000), Poco::Net::Socket::SELECT_READ)) continue;
    try {
      const int n = socket.receiveBytes(buf, sizeof buf);
      if (n <= 0) return seconds_since(start);
      if (received != nullptr) received->append(buf, static_cast<size_t>(n));
    } catch (const Poco::Exception&) {
      return seconds_since(start);
    }
  }
  return -1;
}

// A viewer of a long-lived stream: the response has started and the connection stays open.
std::unique_ptr<Poco::Net::HTTPClientSession> open_stream(int port, const std::string& path,
                                                          int& status) {
  auto session =
      std::make_unique<Poco::Net::HTTPClientSession>("127.0.0.1", static_cast<Poco::UInt16>(port));
  session->setTimeout(Poco::Timespan(10, 0));
  Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
  session->sendRequest(request);
  Poco::Net::HTTPResponse response;
  session->receiveResponse(response);
  status = response.getStatus();
  return session;
}

// Stream handlers hold until the gate opens, at the latest when it goes out of scope: declared
// after the server, a failed assertion cannot leave handlers blocking the server's stop.
class Gate {
 public:
  ~Gate() { open(); }
  void open() {
    std::call_once(once_, [this] { promise_.set_value(); });
  }
  // A stand-in for SSE: sends the headers and a comment, then holds until the gate opens.
  RawHandler stream_handler() {
    return [opened = opened_, watching = watching_](Request&, Poco::Net::HTTPServerResponse& out) {
      ++*watching;  // before the client can see the stream open
      out.setContentType("text/event-stream");
      out.setChunkedTransferEncoding(true);
      std::ostream& body = out.send();
      body << ": open\n\n";
      body.flush();
      opened.wait();
      --*watching;
    };
  }
  int watching() const { return watching_->load(); }

 private:
  std::promise<void> promise_;
  std::shared_future<void> opened_ = promise_.get_future().share();
  std::shared_ptr<std::atomic<int>> watching_ = std::make_shared<std::atomic<int>>(0);
  std::once_flag once_;
};

TEST(HttpServerTest, RoutesHealthAndJsonErrors) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  Server server("test", options);
  server.route("POST", "/v1/echo/{name}", [](Request& r) {
    return json_response(200, "{\"name\":\"" + r.path_params["name"] +
                                  "\",\"size\":" + std::to_string(r.body.size()) + "}");
  });
  server.route("GET", "/v1/boom", [](Request&) -> Response {
    throw HttpError(422, "invalid_field", "field 'ref' is required");
  });
  bool ready = false;
  server.add_readiness_check("nats", [&ready]() -> Status {
    if (ready) return {};
    return make_error(ErrorCode::kUnavailable, "not connected");
  });
  server.start();
  const int port = server.port();

  EXPECT_EQ(call(port, "GET", "/healthz").status, 200);
  auto not_ready = call(port, "GET", "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("\"nats\""), std::string::npos);
  ready = true;
  EXPECT_EQ(call(port, "GET", "/readyz").status, 200);

  auto echo = call(port, "POST", "/v1/echo/abc", "hello");
  EXPECT_EQ(echo.status, 200);
  EXPECT_EQ(echo.body, "{\"name\":\"abc\",\"size\":5}");

  auto boom = call(port, "GET", "/v1/boom");
  EXPECT_EQ(boom.status, 422);
  EXPECT_EQ(boom.body,
            "{\"error\":{\"code\":\"invalid_field\",\"message\":\"field 'ref' is required\"}}");

  auto missing = call(port, "GET", "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("\"not_found\""), std::string::npos);
  EXPECT_EQ(call(port, "GET", "/v1/echo/abc").status, 405);

  auto metrics = call(port, "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("kiln_http_requests_total"), std::string::npos);
  server.stop();
}

TEST(HttpServerTest, BodyOverTheLimitIs413WithJson) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  Server server("test", options);
  server.route("POST", "/upload", [](Request&) { return json_response(200, "{}"); });
  server.start();
  auto too_big = call(server.port(), "POST", "/upload", std::string(4096, 'x'));
  EXPECT_EQ(too_big.status, 413);
  EXPECT_NE(too_big.body.find("\"payload_too_large\""), std::string::npos);
  EXPECT_EQ(call(server.port(), "POST", "/upload", std::string(1024, 'x')).status, 200);
  server.stop();
}

TEST(HttpServerTest, SaturatedServerAnswers503InsteadOfDropping) {
  ServerOptions options;
  options.threads = 2;
  Server server("test", options);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> entered{0};
  server.route("GET", "/slow", [&](Request&) {
    ++entered;
    released.wait();
    return json_response(200, "{}");
  });
  server.start();
  const int port = server.port();
  auto first = std::async(std::launch::async, [&] { return call(port, "GET", "/slow"); });
  auto second = std::async(std::launch::async, [&] { return call(port, "GET", "/slow"); });
  while (entered.load() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));

  auto overloaded = call(port, "GET", "/slow");
  EXPECT_EQ(overloaded.status, 503);
  EXPECT_EQ(overloaded.retry_after, "1");
  EXPECT_NE(overloaded.body.find("\"overloaded\""), std::string::npos);

  release.set_value();
  EXPECT_EQ(first.get().status, 200);
  EXPECT_EQ(second.get().status, 200);
  EXPECT_EQ(call(port, "GET", "/slow").status, 200) << "recovers once the load is gone";
  server.stop();
}

TEST(HttpServerTest, CorsForConfiguredOriginsOnly) {
  ServerOptions options;
  options.cors_origins = {"http://127.0.0.1:8081"};
  Server server("test", options);
  server.route("DELETE", "/v1/builds/{id}", [](Request&) -> Response {
    throw HttpError(401, "unauthenticated", "missing token");
  });
  server.start();
  const int port = server.port();
  auto preflight =
      call(port, "OPTIONS", "/v1/builds/abc", "",
           {{"Origin", "http://127.0.0.1:8081"}, {"Access-Control-Request-Method", "DELETE"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.allow_origin, "http://127.0.0.1:8081");
  EXPECT_NE(preflight.allow_headers.find("Authorization"), std::string::npos);
  auto refused = call(port, "DELETE", "/v1/builds/abc", "", {{"Origin", "http://127.0.0.1:8081"}});
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.allow_origin, "http://127.0.0.1:8081") << "errors carry CORS headers too";
  auto stranger =
      call(port, "OPTIONS", "/v1/builds/abc", "",
           {{"Origin", "http://evil.example"}, {"Access-Control-Request-Method", "DELETE"}});
  EXPECT_EQ(stranger.allow_origin, "");
  EXPECT_NE(stranger.status, 204);
  server.stop();
}

TEST(HttpServerTest, OpenStreamsLeaveTheApiAnswering) {
  ServerOptions options;
  options.threads = 4;
  Server server("test", options);
  Gate gate;
  server.raw_route("GET", "/v1/watch", gate.stream_handler(), {.long_lived = true});
  server.route("GET", "/v1/ping", [](Request&) { return json_response(200, "{}"); });
  server.start();
  const int port = server.port();

  std::vector<std::unique_ptr<Poco::Net::HTTPClientSession>> viewers;
  for (int i = 0; i < 20; ++i) {
    int status = 0;
    viewers.push_back(open_stream(port, "/v1/watch", status));
    ASSERT_EQ(status, 200) << "stream " << i << " of 20 with 4 request threads";
  }
  EXPECT_EQ(gate.watching(), 20);

  const auto start = Clock::now();
  // Half the request threads at once: a finished call may hold its slot a moment after answering.
  for (int round = 0; round < 5; ++round) {
    std::vector<std::future<Reply>> calls;
    for (int i = 0; i < options.threads / 2; ++i) {
      calls.push_back(
          std::async(std::launch::async, [port] { return call(port, "GET", "/v1/ping"); }));
    }
    for (auto& c : calls) EXPECT_EQ(c.get().status, 200);
  }
  EXPECT_EQ(call(port, "GET", "/healthz").status, 200);
  EXPECT_LT(seconds_since(start), 5.0);

  gate.open();
  viewers.clear();
  server.stop();
}

TEST(HttpServerTest, StreamsPastTheLimitGet503Json) {
  ServerOptions options;
  options.threads = 2;
  options.max_streams = 2;
  Server server("test", options);
  Gate gate;
  server.raw_route("GET", "/v1/watch", gate.stream_handler(), {.long_lived = true});
  server.route("GET", "/v1/ping", [](Request&) { return json_response(200, "{}"); });
  server.start();
  const int port = server.port();

  std::vector<std::unique_ptr<Poco::Net::HTTPClientSession>> viewers;
  for (int i = 0; i < 2; ++i) {
    int status = 0;
    viewers.push_back(open_stream(port, "/v1/watch", status));
    ASSERT_EQ(status, 200);
  }
  auto refused = call(port, "GET", "/v1/watch");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.retry_after, "1");
  EXPECT_NE(refused.body.find("{\"error\":{\"code\":\"too_many_streams\""), std::string::npos)
      << refused.body;
  EXPECT_EQ(gate.watching(), 2);
  EXPECT_EQ(call(port, "GET", "/v1/ping").status, 200) << "the API is not limited by streams";

  gate.open();
  viewers.clear();
  server.stop();
}

TEST(HttpServerTest, TricklingBodyIsCutAtTheDeadline) {
  ServerOptions options;
  options.body_timeout_ms = 2000;
  Server server("test", options);
  std::atomic<int> bodies{0};
  server.route("POST", "/v1/echo", [&bodies](Request& r) {
    ++bodies;
    return json_response(200, "{\"size\":" + std::to_string(r.body.size()) + "}");
  });
  server.start();

  auto socket = connect_raw(server.port());
  ASSERT_TRUE(send_raw(socket, "POST /v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"));
  const auto start = Clock::now();
  std::string received;
  double closed_after = -1;
  for (int sent = 0; sent < 10 && closed_after < 0; ++sent) {
    send_raw(socket, "x");  // one byte a second: every read gets one well within its timeout
    closed_after = seconds_until_closed(socket, 1.0, &received);
  }
  const double elapsed = seconds_since(start);
  EXPECT_GE(closed_after, 0) << "still open after " << elapsed << " s";
  EXPECT_GT(elapsed, 1.5) << "cut before the deadline";
  EXPECT_LT(elapsed, 2.0 + 2.0) << "the 2 s deadline plus a margin";
  EXPECT_EQ(bodies.load(), 0) << "the handler must never see the cut body";
  if (!received.empty()) {
    EXPECT_EQ(received.substr(0, 12), "HTTP/1.1 408") << received;
  }

  // A body in time is served, and the connection outlives its (disarmed) deadline.
  auto slow = connect_raw(server.port());
  ASSERT_TRUE(send_raw(slow, "POST /v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_TRUE(send_raw(slow, "cd"));
  EXPECT_NE(read_response(slow).find("{\"size\":4}"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  ASSERT_TRUE(send_raw(slow, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(read_response(slow).substr(0, 12), "HTTP/1.1 200");
  EXPECT_EQ(bodies.load(), 1);
  server.stop();
}

TEST(HttpServerTest, TricklingChunkedBodyIsCutToo) {
  ServerOptions options;
  options.body_timeout_ms = 1000;
  Server server("test", options);
  std::atomic<int> bodies{0};
  server.route("POST", "/v1/echo", [&bodies](Request&) {
    ++bodies;
    return json_response(200, "{}");
  });
  server.start();
  auto socket = connect_raw(server.port());
  ASSERT_TRUE(send_raw(
      socket, "POST /v1/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n"));
  const auto start = Clock::now();
  double closed_after = -1;
  for (int sent = 0; sent < 20 && closed_after < 0; ++sent) {
    send_raw(socket, "x");
    closed_after = seconds_until_closed(socket, 0.5);
  }
  EXPECT_GE(closed_after, 0) << "still open after " << seconds_since(start) << " s";
  EXPECT_LT(seconds_since(start), 1.0 + 2.0) << "the 1 s deadline plus a margin";
  EXPECT_EQ(bodies.load(), 0) << "a cut chunked body must not pass for a complete one";
  server.stop();
}

TEST(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  EXPECT_LE(ServerOptions{}.keep_alive_timeout_ms, 5000) << "the default is short";
  ServerOptions options;
  options.keep_alive_timeout_ms = 1000;
  Server server("test", options);
  server.start();
  auto socket = connect_raw(server.port());
  ASSERT_TRUE(send_raw(socket, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  const std::string response = read_response(socket);
  ASSERT_EQ(response.substr(0, 12), "HTTP/1.1 200") << response;
  EXPECT_FALSE(says_close(response)) << "kept alive at first";
  const double closed_after = seconds_until_closed(socket, 10.0);
  EXPECT_GE(closed_after, 0.5) << "closed before the idle timeout";
  EXPECT_LT(closed_after, 1.0 + 2.0) << "the 1 s idle timeout plus a margin";
  server.stop();
}

TEST(HttpServerTest, ConnectionClosesAfterMaxRequests) {
  ServerOptions options;
  options.max_requests_per_connection = 2;
  Server server("test", options);
  server.start();
  auto socket = connect_raw(server.port());
  ASSERT_TRUE(send_raw(socket, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_FALSE(says_close(read_response(socket)));
  ASSERT_TRUE(send_raw(socket, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  const std::string last = read_response(socket);
  EXPECT_EQ(last.substr(0, 12), "HTTP/1.1 200") << last;
  EXPECT_TRUE(says_close(last)) << last;
  EXPECT_GE(seconds_until_closed(socket, 5.0), 0);
  server.stop();
}

}  // namespace
}  // namespace kiln::http
