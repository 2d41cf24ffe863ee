#include "service/service.h"

#include <unistd.h>

#include <iostream>

#include "bus/permissions.h"
#include "bus/topology.h"
#include "common/log.h"
#include "common/shutdown.h"

namespace kiln::service {

CommonOptions::CommonOptions(int default_http_port) {
  http.port = default_http_port;
  // The dashboard (served by analytics on 8081) calls every service's API from the browser.
  http.cors_origins = {"http://127.0.0.1:8081", "http://localhost:8081"};
}

Config make_config(const std::string& program, const std::string& summary, CommonOptions& common) {
  Config config(program, summary);
  config.tolerate_environment(kiln_environment());
  auto& http = common.http;
  config.bind("nats.url", common.nats_url, "NATS server URL(s), comma-separated").not_empty();
  config.bind("nats.credentials-file", common.nats_credentials_file,
              "File with this service's NATS user and password, one line user:password, mode "
              "0600 (infra/stack.sh makes one per service); empty: no user");
  config
      .bind("nats.replicas", common.nats_replicas,
            "Copies of each stream and bucket kiln creates: 3 on a 3-node cluster (set the same "
            "in every service)")
      .range(1, 5);
  config.bind("http.host", http.host, "Address the HTTP server binds to");
  config.bind("http.port", http.port, "HTTP port (0: any free port)").range(0, 65535);
  config.bind("http.threads", http.threads, "HTTP request threads for API requests").at_least(1);
  config
      .bind("http.max-streams", http.max_streams,
            "Live streams (SSE, WebSocket) open at once, on threads of their own; 503 beyond it")
      .at_least(0);
  config
      .bind("http.idle-timeout-ms", http.keep_alive_timeout_ms,
            "An idle keep-alive connection is closed after this")
      .at_least(1);
  config
      .bind("http.max-requests-per-connection", http.max_requests_per_connection,
            "A keep-alive connection is closed after this many requests (0: no limit)")
      .at_least(0);
  config
      .bind("http.body-timeout-ms", http.body_timeout_ms,
            "A request body (streamed uploads excepted) must arrive whole within this, however "
            "slowly it trickles; 408 and the connection closed beyond it (0: no limit)")
      .at_least(0);
  config.bind("http.cors-origins", http.cors_origins,
              "Browser origins allowed to call this API (the dashboard's), comma-separated; * for "
              "any");
  config
      .bind("streams.logs-max-bytes", common.streams.logs_max_bytes,
            "Bytes KILN_LOGS keeps; past it the oldest logs go (set the same in every service)")
      .at_least(1 << 20);
  config
      .bind("streams.uploads-max-bytes", common.streams.uploads_max_bytes,
            "Bytes KILN_UPLOADS keeps; past it new uploads are refused with 507 until older "
            "ones expire (1 day) (set the same in every service)")
      .at_least(1 << 20);
  config.bind("log.level", common.log_level, "Least severe log lines written")
      .one_of({"debug", "info", "warn", "error"});
  config.bind("instance", common.instance,
              "Instance id in logs and events (default: <service>/<host>-<pid>)");
  return config;
}

void init_logging(CommonOptions& common, const std::string& service) {
  log::init(service, common.log_level);
  if (common.instance.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    common.instance = service + "/" + host + "-" + std::to_string(getpid());
  }
}

std::unique_ptr<bus::Bus> connect_bus(const CommonOptions& common) {
  bus::BusOptions options;
  options.url = common.nats_url;
  options.replicas = common.nats_replicas;
  options.name = common.instance;
  if (!common.nats_credentials_file.empty()) {
    const auto credentials =
        require(bus::read_credentials_file(common.nats_credentials_file), "nats.credentials-file");
    options.user = credentials.user;
    options.password = credentials.password;
  }
  bool warned = false;
  while (!shutdown::requested()) {
    auto connected = bus::Bus::connect(options);
    if (!connected.ok() && (connected.error().code == ErrorCode::kUnauthenticated ||
                            connected.error().code == ErrorCode::kPermissionDenied)) {
      throw StartupError("NATS refused user '" + options.user +
                         "': " + connected.error().describe());
    }
    if (connected.ok()) {
      auto provisioned = bus::provision(**connected, common.streams);
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

void add_nats_readiness(http::Server& server, bus::Bus& bus) {
  server.add_readiness_check("nats", [&bus]() { return bus.ping_jetstream(1000); });
}

void require(const Status& status, const std::string& what) {
  if (!status.ok()) throw StartupError(what + ": " + status.error().describe());
}

int run(int argc, char** argv, const std::function<int(int, char**)>& body) {
  try {
    return body(argc, argv);
  } catch (const StartupError& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    log::error("cannot start", {{"error", e.what()}});
    return 1;
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    log::error("fatal", {{"error", e.what()}});
    return 1;
  }
}

}  // namespace kiln::service
