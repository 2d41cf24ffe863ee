#include "http/server.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include <chrono>
#include <istream>
#include <optional>
#include <thread>

#include "common/config.h"
#include "common/log.h"
#include "common/strings.h"
#include "http/deadlines.h"

namespace kiln::http {

struct Server::Route {
  std::string method;
  std::vector<std::string> segments;  // "{name}" binds a parameter
  Handler handler;
  RawHandler raw_handler;
  RouteOptions options;
};

namespace {

// The metrics every service's server keeps (kiln_http_*).
constexpr Metric kRequestsMetric{"kiln_http_requests_total", "HTTP requests by route and status"};
constexpr Metric kRequestDurationMetric{"kiln_http_request_duration_seconds",
                                        "HTTP request latency"};
constexpr Metric kStreamsOpenMetric{"kiln_http_streams_open",
                                    "Long-lived streams (SSE, WebSocket) open"};

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    const size_t end = slash == std::string::npos ? path.size() : slash;
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool match(const Server::Route& route, const std::vector<std::string>& segments,
           std::map<std::string, std::string>& params) {
  if (route.segments.size() != segments.size()) return false;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& want = route.segments[i];
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      if (segments[i].empty()) return false;
      params[want.substr(1, want.size() - 2)] = segments[i];
    } else if (want != segments[i]) {
      return false;
    }
  }
  return true;
}

// A request with neither a length nor chunks has no body (RFC 9112 6.3); reading one "until the
// client closes" would only wait out the deadline.
bool expects_body(Poco::Net::HTTPServerRequest& request) {
  return request.getChunkedTransferEncoding() || request.getContentLength64() > 0;
}

// Reads the body up to `limit` bytes; throws 413 past it without reading the rest, and 408 when
// it ends short (the deadline cut it, the client stopped, or a read timed out).
std::string read_body(Poco::Net::HTTPServerRequest& request, std::size_t limit,
                      const SocketDeadlines::Guard* deadline) {
  if (!expects_body(request)) return {};
  const auto declared = request.getContentLength64();
  if (declared != Poco::Net::HTTPMessage::UNKNOWN_CONTENT_LENGTH &&
      static_cast<std::uint64_t>(declared) > limit) {
    throw HttpError(413, "payload_too_large",
                    "body of " + std::to_string(declared) + " bytes exceeds the limit of " +
                        std::to_string(limit) + " bytes");
  }
  std::string body;
  if (declared > 0) body.reserve(static_cast<size_t>(declared));
  std::istream& in = request.stream();
  char buf[16384];
  while (in) {
    in.read(buf, sizeof buf);
    body.append(buf, static_cast<size_t>(in.gcount()));
    if (body.size() > limit) {
      throw HttpError(413, "payload_too_large",
                      "body exceeds the limit of " + std::to_string(limit) + " bytes");
    }
  }
  // A cut chunked body can look like a complete one; a fixed length tells for itself.
  const bool complete = declared > 0 ? body.size() == static_cast<size_t>(declared)
                                     : !in.bad() && !(deadline && deadline->expired());
  if (!complete) {
    throw HttpError(408, "body_timeout", "request body ended early or arrived too slowly");
  }
  return body;
}

bool origin_allowed(const std::vector<std::string>& allowed, const std::string& origin) {
  if (origin.empty()) return false;
  for (const auto& a : allowed) {
    if (a == "*" || a == origin) return true;
  }
  return false;
}

// Bearer tokens travel in a header, never in cookies, so no credentials mode is needed.
void add_cors_headers(Poco::Net::HTTPServerResponse& response, const std::string& origin) {
  response.set("Access-Control-Allow-Origin", origin);
  response.set("Vary", "Origin");
}

// Answers a CORS preflight (true) or adds the CORS headers to the response to come.
bool apply_cors(const std::vector<std::string>& allowed, Poco::Net::HTTPServerRequest& request,
                Poco::Net::HTTPServerResponse& response) {
  const std::string origin = request.get("Origin", "");
  if (!origin_allowed(allowed, origin)) return false;
  add_cors_headers(response, origin);
  if (request.getMethod() != "OPTIONS" || !request.has("Access-Control-Request-Method")) {
    return false;
  }
  // A preflight carries no token; answering it reveals nothing.
  response.set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
  response.set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key");
  response.set("Access-Control-Max-Age", "600");
  response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NO_CONTENT);
  response.setContentLength(0);
  response.send();
  return true;
}

bool is_builtin(const Request& req) {
  return req.method == "GET" &&
         (req.path == "/healthz" || req.path == "/metrics" || req.path == "/readyz");
}

// One unit of a concurrency limit, held while the request runs.
class Slot {
 public:
  explicit Slot(std::atomic<int>& count) : count_(count), taken_(++count) {}
  ~Slot() { --count_; }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  int taken() const { return taken_; }

 private:
  std::atomic<int>& count_;
  int taken_;
};

class RequestHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit RequestHandler(Server::Dispatcher& dispatcher) : dispatcher_(dispatcher) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override;

 private:
  Server::Dispatcher& dispatcher_;
};

}  // namespace

struct Server::Dispatcher : public Poco::Net::HTTPRequestHandlerFactory {
  Server& server;
  explicit Dispatcher(Server& s) : server(s) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new RequestHandler(*this);
  }
  void handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);
  Response builtin(const std::string& path);
  const Route& find_route(Request& req) const;
  void admit(std::optional<Slot>& slot, bool stream, Poco::Net::HTTPServerResponse& response);
  // Returns the status the route answered.
  int run_route(const Route& route, Request& req, Poco::Net::HTTPServerResponse& response);
};

int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 422;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
      return 409;
    case ErrorCode::kFailedPrecondition:
      return 409;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kDeadlineExceeded:
      return 503;
    case ErrorCode::kCancelled:
      return 409;
    case ErrorCode::kDataLoss:
      return 500;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

void throw_error(const Error& error) {
  throw HttpError(status_for(error.code), to_lower(to_string(error.code)), error.message);
}

std::string json_error_body(const std::string& code, const std::string& message) {
  return "{\"error\":{\"code\":\"" + log::json_escape(code) + "\",\"message\":\"" +
         log::json_escape(message) + "\"}}";
}

void write_response(Poco::Net::HTTPServerResponse& out, const Response& response) {
  out.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(response.status));
  out.setContentType(response.content_type);
  for (const auto& [name, value] : response.headers) out.set(name, value);
  out.setContentLength64(static_cast<Poco::Int64>(response.body.size()));
  out.send().write(response.body.data(), static_cast<std::streamsize>(response.body.size()));
}

std::string Request::header(const std::string& name) const {
  return raw != nullptr ? raw->get(name, "") : "";
}

std::string Request::query_or(const std::string& name, const std::string& fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

void RequestHandler::handleRequest(Poco::Net::HTTPServerRequest& request,
                                   Poco::Net::HTTPServerResponse& response) {
  dispatcher_.handle(request, response);
}

Response Server::Dispatcher::builtin(const std::string& path) {
  if (path == "/healthz") return json_response(200, "{\"status\":\"ok\"}");
  if (path == "/metrics") {
    server.metrics_.gauge_set(kStreamsOpenMetric, server.streams_.load());
    return text_response(200, server.metrics_.render(), "text/plain; version=0.0.4");
  }
  std::string failures;
  for (const auto& [name, check] : server.readiness_checks_) {
    Status status = check();
    if (!status.ok()) {
      if (!failures.empty()) failures += ",";
      failures += "\"" + log::json_escape(name) + "\":\"" +
                  log::json_escape(status.error().describe()) + "\"";
    }
  }
  if (failures.empty()) return json_response(200, "{\"status\":\"ready\"}");
  return json_response(503, "{\"status\":\"not ready\",\"failing\":{" + failures + "}}");
}

const Server::Route& Server::Dispatcher::find_route(Request& req) const {
  const auto segments = split_path(req.path);
  bool path_known = false;
  for (const auto& route : server.routes_) {
    std::map<std::string, std::string> params;
    if (!match(route, segments, params)) continue;
    path_known = true;
    if (route.method != req.method) continue;
    req.path_params = std::move(params);
    return route;
  }
  if (path_known) throw HttpError(405, "method_not_allowed", req.method + " " + req.path);
  throw HttpError(404, "not_found", "no route for " + req.method + " " + req.path);
}

void Server::Dispatcher::admit(std::optional<Slot>& slot, bool stream,
                               Poco::Net::HTTPServerResponse& response) {
  slot.emplace(stream ? server.streams_ : server.in_flight_);
  const int limit = stream ? server.options_.max_streams : server.options_.max_in_flight;
  if (slot->taken() <= limit) {
    // Connections are waiting for a thread: this one must not keep its thread while idle.
    if (server.server_->queuedConnections() > 0) response.setKeepAlive(false);
    return;
  }
  response.setKeepAlive(false);
  if (stream) {
    throw HttpError(
        503, "too_many_streams",
        "server is at its limit of " + std::to_string(limit) + " open streams; retry shortly");
  }
  throw HttpError(
      503, "overloaded",
      "server is at its limit of " + std::to_string(limit) + " requests in flight; retry shortly");
}

int Server::Dispatcher::run_route(const Route& route, Request& req,
                                  Poco::Net::HTTPServerResponse& response) {
  Poco::Net::HTTPServerRequest& request = *req.raw;
  // A streamed body is read by the handler at its own pace: a deadline only when the route asks.
  const int body_timeout_ms = route.options.body_timeout_ms > 0 ? route.options.body_timeout_ms
                              : route.options.stream_body       ? 0
                                                                : server.options_.body_timeout_ms;
  std::optional<SocketDeadlines::Guard> deadline;
  auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&request);
  if (body_timeout_ms > 0 && impl != nullptr && expects_body(request)) {
    deadline.emplace(*server.deadlines_, impl->socket(),
                     SocketDeadlines::Clock::now() + std::chrono::milliseconds(body_timeout_ms));
  }
  if (!route.options.stream_body) {
    const std::size_t limit = route.options.max_body_bytes ? route.options.max_body_bytes
                                                           : server.options_.max_body_bytes;
    try {
      req.body = read_body(request, limit, deadline ? &*deadline : nullptr);
    } catch (const HttpError&) {
      response.setKeepAlive(false);  // the unread rest of the body must not be parsed
      throw;
    }
    // Cut as the last byte arrived: the body is whole, but the connection cannot read on.
    if (deadline && deadline->expired()) response.setKeepAlive(false);
    deadline.reset();
  }
  if (route.raw_handler) {
    route.raw_handler(req, response);
    return response.getStatus();
  }
  Response r = route.handler(req);
  write_response(response, r);
  return r.status;
}

void Server::Dispatcher::handle(Poco::Net::HTTPServerRequest& request,
                                Poco::Net::HTTPServerResponse& response) {
  const auto started = std::chrono::steady_clock::now();
  Request req;
  req.raw = &request;
  req.method = request.getMethod();
  int status = 500;
  bool log_it = true;
  std::optional<Slot> slot;
  try {
    Poco::URI uri(request.getURI());
    req.path = uri.getPath();
    for (const auto& [k, v] : uri.getQueryParameters()) req.query[k] = v;

    if (apply_cors(server.options_.cors_origins, request, response)) {
      status = 204;
      log_it = false;
    } else if (is_builtin(req)) {
      admit(slot, false, response);
      log_it = false;
      Response r = builtin(req.path);
      status = r.status;
      write_response(response, r);
    } else {
      const Route& route = find_route(req);
      log_it = route.options.log_requests;
      admit(slot, route.options.long_lived, response);
      status = run_route(route, req, response);
    }
  } catch (const HttpError& e) {
    status = e.status();
    if (status == 503) response.set("Retry-After", "1");
    if (!response.sent()) {
      write_response(response, json_response(status, json_error_body(e.code(), e.what())));
    }
  } catch (const std::exception& e) {
    status = 500;
    log::error("request failed", {{"method", req.method}, {"path", req.path}, {"error", e.what()}});
    if (!response.sent()) {
      write_response(response, json_response(500, json_error_body("internal", e.what())));
    }
  }
  slot.reset();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  server.metrics_.counter_add(kRequestsMetric,
                              {{"method", req.method}, {"status", std::to_string(status)}});
  if (log_it) {
    server.metrics_.observe(kRequestDurationMetric, seconds, {{"method", req.method}});
    log::info("http request", {{"method", req.method},
                               {"path", req.path},
                               {"status", status},
                               {"duration_ms", seconds * 1000.0}});
  }
}

Server::Server(std::string service_name, ServerOptions options)
    : service_name_(std::move(service_name)), options_(std::move(options)) {
  if (options_.max_in_flight <= 0) options_.max_in_flight = options_.threads;
  if (options_.max_streams < 0) options_.max_streams = 0;
}

Server::~Server() { stop(0); }

void Server::route(const std::string& method, const std::string& pattern, Handler handler,
                   RouteOptions options) {
  routes_.push_back(Route{method, split_path(pattern), std::move(handler), nullptr, options});
}

void Server::raw_route(const std::string& method, const std::string& pattern, RawHandler handler,
                       RouteOptions options) {
  routes_.push_back(Route{method, split_path(pattern), nullptr, std::move(handler), options});
}

void Server::add_readiness_check(const std::string& name, std::function<Status()> check) {
  readiness_checks_.emplace_back(name, std::move(check));
}

void Server::start() {
  Poco::Net::ServerSocket socket;
  try {
    socket = Poco::Net::ServerSocket(Poco::Net::SocketAddress(options_.host, options_.port), 256);
  } catch (const Poco::Exception& e) {
    // Poco's what() is only the exception's class name ("Net Exception").
    throw StartupError("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                       ": " + e.displayText());
  }
  port_ = socket.address().port();
  auto* params = new Poco::Net::HTTPServerParams();
  // Streams have threads of their own, so viewers never starve the API. The second share of
  // `threads` holds idle keep-alive connections and answers 503 instead of queueing silently.
  const int pool_size = 2 * options_.threads + options_.max_streams + 8;
  params->setMaxThreads(pool_size);
  params->setMaxQueued(options_.max_queued);
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(options_.keep_alive_timeout_ms * 1000LL));
  params->setMaxKeepAliveRequests(options_.max_requests_per_connection);
  params->setTimeout(Poco::Timespan(options_.read_timeout_ms * 1000LL));
  params->setServerName("kiln-" + service_name_);
  pool_ = std::make_unique<Poco::ThreadPool>(2, pool_size);
  deadlines_ = std::make_unique<SocketDeadlines>();
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Dispatcher(*this), *pool_, socket, params);
  server_->start();
  log::info("http listening", {{"host", options_.host},
                               {"port", port_},
                               {"threads", options_.threads},
                               {"max_streams", options_.max_streams}});
}

void Server::stop(int drain_ms) {
  if (!server_) return;
  server_->stopAll(false);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_ms);
  while (in_flight_.load() + streams_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  server_->stopAll(true);
  pool_->joinAll();
  server_.reset();
  deadlines_.reset();  // after the handlers: their guards point into it
}

}  // namespace kiln::http
