// libs/http — the HTTP bootstrap every kiln service uses (Poco::Net underneath).
//
// Error convention: handlers throw HttpError(status, code, message) for anything the client should
// see; the server turns it into {"error": {"code": ..., "message": ...}} with that status. Any
// other exception is a 500 with the same body shape and an error log line. Nothing is swallowed.
//
// Overload: Poco silently drops connections past its queue. Instead, the server admits at most
// `max_in_flight` requests at once and answers the rest 503 with Retry-After, immediately; its
// thread pool has spare threads for exactly that.
//
// Long-lived streams (SSE, WebSocket: routes marked `long_lived`) hold a thread for as long as a
// viewer watches. They count against their own limit, `max_streams`, with threads of their own in
// the pool, so viewers never take request threads from the API; past the limit a stream request
// is answered 503 {"error": {"code": "too_many_streams", ...}}.
//
// Slow clients: an idle keep-alive connection is closed after `keep_alive_timeout_ms`, and a
// request body must arrive whole within `body_timeout_ms` (else 408, connection closed), however
// the client trickles it.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/result.h"
#include "http/metrics.h"

namespace Poco::Net {
class HTTPServer;
}
namespace Poco {
class ThreadPool;
}

namespace kiln::http {

class SocketDeadlines;

class HttpError : public std::runtime_error {
 public:
  HttpError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }

 private:
  int status_;
  std::string code_;
};

// Maps a library Error to the HTTP status a client should see.
int status_for(ErrorCode code);
[[noreturn]] void throw_error(const Error& error);

struct Request {
  std::string method;
  std::string path;                                // without the query string
  std::map<std::string, std::string> query;        // decoded
  std::map<std::string, std::string> path_params;  // from {name} segments of the route
  std::string body;                                // read whole unless the route streams it
  Poco::Net::HTTPServerRequest* raw = nullptr;

  std::string header(const std::string& name) const;  // empty when absent
  std::string query_or(const std::string& name, const std::string& fallback) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

inline Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}
inline Response text_response(int status, std::string body, std::string content_type) {
  Response r = json_response(status, std::move(body));
  r.content_type = std::move(content_type);
  return r;
}

using Handler = std::function<Response(Request&)>;
// A handler that writes the response itself (SSE, WebSocket, large downloads, streamed uploads).
using RawHandler = std::function<void(Request&, Poco::Net::HTTPServerResponse&)>;

struct RouteOptions {
  std::size_t max_body_bytes = 0;  // 0: the server's default
  bool stream_body = false;        // leave the body unread in raw->stream() (RawHandler only)
  bool log_requests = true;
  // The handler keeps the connection for as long as the client watches (SSE, WebSocket): counted
  // against ServerOptions::max_streams instead of the API's request threads.
  bool long_lived = false;
  // Total time for the body to arrive; 0: the server's. A stream_body route reads at its own pace
  // (uploads of hundreds of MB) and has no total deadline unless it sets one here.
  int body_timeout_ms = 0;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;           // 0: pick a free port (see port())
  int threads = 32;       // API request threads
  int max_in_flight = 0;  // 0: same as threads
  int max_streams = 256;  // long-lived streams at once, on threads of their own
  int max_queued = 256;   // accepted connections waiting for a thread
  std::size_t max_body_bytes = 1 << 20;
  int read_timeout_ms = 10000;             // per read, and for a new connection's first request
  int body_timeout_ms = 30000;             // a whole request body, however slowly it trickles
  int keep_alive_timeout_ms = 5000;        // an idle keep-alive connection is closed after this
  int max_requests_per_connection = 1000;  // then the connection closes (0: no limit)
  // Origins allowed to call this server from a browser (CORS), e.g. the dashboard's
  // "http://127.0.0.1:8081"; "*" allows any. Empty: no CORS headers at all.
  std::vector<std::string> cors_origins;
};

class Server {
 public:
  Server(std::string service_name, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Routes: "/v1/builds/{id}" binds path_params["id"]. Register before start().
  void route(const std::string& method, const std::string& pattern, Handler handler,
             RouteOptions options = {});
  void raw_route(const std::string& method, const std::string& pattern, RawHandler handler,
                 RouteOptions options = {});
  // /readyz answers 200 only when every check passes; each failure is named in the body.
  void add_readiness_check(const std::string& name, std::function<Status()> check);

  // Listens and serves; throws StartupError (common/config.h) when the address cannot be bound.
  void start();
  // Stops accepting, lets in-flight requests finish (up to `drain_ms`), then closes.
  void stop(int drain_ms = 5000);
  int port() const { return port_; }
  Metrics& metrics() { return metrics_; }

  struct Route;
  struct Dispatcher;

 private:
  std::string service_name_;
  ServerOptions options_;
  Metrics metrics_;
  std::vector<Route> routes_;
  std::vector<std::pair<std::string, std::function<Status()>>> readiness_checks_;
  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<SocketDeadlines> deadlines_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> streams_{0};
  int port_ = 0;
};

std::string json_error_body(const std::string& code, const std::string& message);
void write_response(Poco::Net::HTTPServerResponse& out, const Response& response);

}  // namespace kiln::http
