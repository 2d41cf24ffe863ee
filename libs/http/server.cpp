#include "http/server.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include <chrono>
#include <istream>
#include <thread>

#include "common/log.h"

namespace kiln::http {

struct Server::Route {
  std::string method;
  std::vector<std::string> segments;  // "{name}" binds a parameter
  Handler handler;
  RawHandler raw_handler;
  RouteOptions options;
};

namespace {

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

// Reads the body up to `limit` bytes; throws 413 past it without reading the rest.
std::string read_body(Poco::Net::HTTPServerRequest& request, std::size_t limit) {
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
  if (declared > 0 && body.size() < static_cast<size_t>(declared)) {
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
  Response builtin(const std::string& path, bool& handled);
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
  std::string code(to_string(error.code));
  for (auto& c : code) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  throw HttpError(status_for(error.code), code, error.message);
}

std::string json_error_body(const std::string& code, const std::string& message) {
  return "{\"error\":{\"code\":\"" + log::json_escape(code) + "\",\"message\":\"" +
         log::json_escape(message) + "\"}}";
}

void write_response(Poco::Net::HTTPServerResponse& out, const Response& response) {
  out.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(response.status));
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

Response Server::Dispatcher::builtin(const std::string& path, bool& handled) {
  handled = true;
  if (path == "/healthz") return json_response(200, "{\"status\":\"ok\"}");
  if (path == "/metrics") {
    return text_response(200, server.metrics_.render(), "text/plain; version=0.0.4");
  }
  if (path == "/readyz") {
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
  handled = false;
  return {};
}

void Server::Dispatcher::handle(Poco::Net::HTTPServerRequest& request,
                                Poco::Net::HTTPServerResponse& response) {
  const auto started = std::chrono::steady_clock::now();
  Request req;
  req.raw = &request;
  req.method = request.getMethod();
  int status = 500;
  bool log_it = true;
  const int in_flight = ++server.in_flight_;
  try {
    Poco::URI uri(request.getURI());
    req.path = uri.getPath();
    for (const auto& [k, v] : uri.getQueryParameters()) req.query[k] = v;

    bool handled = false;
    const std::string origin = request.get("Origin", "");
    if (origin_allowed(server.options_.cors_origins, origin)) {
      add_cors_headers(response, origin);
      if (req.method == "OPTIONS" && request.has("Access-Control-Request-Method")) {
        // A preflight carries no token; answering it reveals nothing.
        response.set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
        response.set("Access-Control-Allow-Headers",
                     "Authorization, Content-Type, Idempotency-Key");
        response.set("Access-Control-Max-Age", "600");
        status = 204;
        log_it = false;
        handled = true;
        response.setStatus(Poco::Net::HTTPResponse::HTTP_NO_CONTENT);
        response.setContentLength(0);
        response.send();
      }
    }
    if (!handled && in_flight > server.options_.max_in_flight) {
      response.setKeepAlive(false);
      throw HttpError(503, "overloaded",
                      "server is at its limit of " + std::to_string(server.options_.max_in_flight) +
                          " requests in flight; retry shortly");
    }
    if (!handled && req.method == "GET") {
      Response r = builtin(req.path, handled);
      if (handled) {
        log_it = false;
        status = r.status;
        write_response(response, r);
      }
    }
    if (!handled) {
      const auto segments = split_path(req.path);
      const Server::Route* found = nullptr;
      bool path_known = false;
      for (const auto& route : server.routes_) {
        std::map<std::string, std::string> params;
        if (!match(route, segments, params)) continue;
        path_known = true;
        if (route.method != req.method) continue;
        found = &route;
        req.path_params = std::move(params);
        break;
      }
      if (found == nullptr) {
        if (path_known) throw HttpError(405, "method_not_allowed", req.method + " " + req.path);
        throw HttpError(404, "not_found", "no route for " + req.method + " " + req.path);
      }
      log_it = found->options.log_requests;
      if (!found->options.stream_body) {
        const std::size_t limit = found->options.max_body_bytes ? found->options.max_body_bytes
                                                                : server.options_.max_body_bytes;
        try {
          req.body = read_body(request, limit);
        } catch (const HttpError&) {
          response.setKeepAlive(false);  // the unread rest of the body must not be parsed
          throw;
        }
      }
      if (found->raw_handler) {
        found->raw_handler(req, response);
        status = response.getStatus();
      } else {
        Response r = found->handler(req);
        status = r.status;
        write_response(response, r);
      }
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
  --server.in_flight_;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  server.metrics_.counter_add("kiln_http_requests_total", "HTTP requests by route and status",
                              {{"method", req.method}, {"status", std::to_string(status)}});
  if (log_it) {
    server.metrics_.observe("kiln_http_request_duration_seconds", "HTTP request latency", seconds,
                            {{"method", req.method}});
    log::info("http request", {{"method", req.method},
                               {"path", req.path},
                               {"status", status},
                               {"duration_ms", seconds * 1000.0}});
  }
}

Server::Server(std::string service_name, ServerOptions options)
    : service_name_(std::move(service_name)), options_(std::move(options)) {
  if (options_.max_in_flight <= 0) options_.max_in_flight = options_.threads;
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
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(options_.host, options_.port), 256);
  port_ = socket.address().port();
  auto* params = new Poco::Net::HTTPServerParams();
  // Spare threads beyond max_in_flight exist only to answer 503 instead of queueing silently.
  const int pool_size = options_.threads + 8;
  params->setMaxThreads(pool_size);
  params->setMaxQueued(options_.max_queued);
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(options_.keep_alive_timeout_ms * 1000LL));
  params->setTimeout(Poco::Timespan(options_.read_timeout_ms * 1000LL));
  params->setServerName("kiln-" + service_name_);
  pool_ = std::make_unique<Poco::ThreadPool>(2, pool_size);
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Dispatcher(*this), *pool_, socket, params);
  server_->start();
  log::info("http listening", {{"host", options_.host}, {"port", port_}});
}

void Server::stop(int drain_ms) {
  if (!server_) return;
  server_->stopAll(false);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_ms);
  while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  server_->stopAll(true);
  pool_->joinAll();
  server_.reset();
}

}  // namespace kiln::http
