#include "service/service.h"

#include <unistd.h>

#include <iostream>

#include "common/log.h"
#include "common/shutdown.h"
#include "common/strings.h"

namespace kiln::service {

void add_common_options(Config& config, int default_http_port) {
  config.option("nats.url", "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated")
      .option("http.host", "127.0.0.1", "Address the HTTP server binds to")
      .option("http.port", std::to_string(default_http_port), "HTTP port (0: any free port)")
      .option("http.threads", "32", "HTTP request threads for API requests")
      .option("http.max-streams", "256",
              "Live streams (SSE, WebSocket) open at once, on threads of their own; 503 beyond it")
      .option("http.idle-timeout-ms", "5000", "An idle keep-alive connection is closed after this")
      .option("http.max-requests-per-connection", "1000",
              "A keep-alive connection is closed after this many requests (0: no limit)")
      .option("http.body-timeout-ms", "30000",
              "A request body (streamed uploads excepted) must arrive whole within this, however "
              "slowly it trickles; 408 and the connection closed beyond it (0: no limit)")
      .option(
          "http.cors-origins", "http://127.0.0.1:8081,http://localhost:8081",
          "Browser origins allowed to call this API (the dashboard's), comma-separated; * for any")
      .option("log.level", "info", "debug, info, warn or error")
      .option("instance", "", "Instance id in logs and events (default: <service>/<host>-<pid>)");
}

std::string init_logging(const Config& config, const std::string& service) {
  log::init(service, config.get("log.level"));
  std::string instance = config.get("instance");
  if (instance.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    instance = service + "/" + host + "-" + std::to_string(getpid());
  }
  return instance;
}

std::unique_ptr<bus::Bus> connect_bus(const Config& config, const std::string& instance) {
  bus::BusOptions options;
  options.url = config.get("nats.url");
  options.name = instance;
  bool warned = false;
  while (!shutdown::requested()) {
    auto connected = bus::Bus::connect(options);
    if (connected.ok()) {
      auto provisioned = bus::provision(**connected);
      if (provisioned.ok()) {
        log::info("connected to NATS", {{"url", options.url}});
        return std::move(connected.value());
      }
      log::warn("provisioning streams failed; retrying",
                {{"error", provisioned.error().describe()}});
    } else if (!warned) {
      log::warn("NATS not reachable yet; retrying every second",
                {{"url", options.url}, {"error", connected.error().describe()}});
      warned = true;
    }
    shutdown::wait_for(std::chrono::seconds(1));
  }
  return nullptr;
}

http::ServerOptions http_options(const Config& config) {
  http::ServerOptions options;
  options.host = config.get("http.host");
  options.port = static_cast<int>(config.get_int("http.port"));
  options.threads = static_cast<int>(config.get_int("http.threads"));
  options.max_streams = static_cast<int>(config.get_int("http.max-streams"));
  options.keep_alive_timeout_ms = static_cast<int>(config.get_int("http.idle-timeout-ms"));
  options.max_requests_per_connection =
      static_cast<int>(config.get_int("http.max-requests-per-connection"));
  options.body_timeout_ms = static_cast<int>(config.get_int("http.body-timeout-ms"));
  if (options.threads < 1 || options.max_streams < 0 || options.keep_alive_timeout_ms < 1 ||
      options.max_requests_per_connection < 0 || options.body_timeout_ms < 0) {
    throw ConfigError(
        "http.threads and http.idle-timeout-ms must be at least 1; http.max-streams, "
        "http.max-requests-per-connection and http.body-timeout-ms cannot be negative");
  }
  options.cors_origins = split_list(config.get("http.cors-origins"), ListItems::kAsWritten);
  return options;
}

void add_nats_readiness(http::Server& server, bus::Bus& bus) {
  server.add_readiness_check("nats", [&bus]() { return bus.ping_jetstream(1000); });
}

int run(int argc, char** argv, const std::function<int(int, char**)>& body) {
  try {
    return body(argc, argv);
  } catch (const ConfigError& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    log::error("fatal", {{"error", e.what()}});
    return 1;
  }
}

}  // namespace kiln::service
