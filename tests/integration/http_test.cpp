// libs/http: a real Poco server on a free port, driven over real sockets.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
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

}  // namespace
}  // namespace kiln::http
