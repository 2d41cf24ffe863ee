// What every kiln service does the same way at start-up: common options, structured logging,
// connecting to NATS (retrying until it is up or shutdown is asked for), provisioning the
// streams, and the HTTP server options. A service's main.cpp reads as: declare options, call
// these, wire its own parts, wait for SIGTERM, stop the parts in reverse order.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "bus/bus.h"
#include "bus/topology.h"
#include "common/config.h"
#include "http/server.h"

namespace kiln::service {

// nats.url, http.* (host, port, threads, streams, slow-client timeouts, CORS), log.level, instance.
void add_common_options(Config& config, int default_http_port);

// Logs are JSON lines; the instance id defaults to <service>/<hostname>-<pid>.
std::string init_logging(const Config& config, const std::string& service);

// Connects (retrying every second until shutdown is requested; nullptr then) and provisions
// kiln's streams and buckets.
std::unique_ptr<bus::Bus> connect_bus(const Config& config, const std::string& instance);

http::ServerOptions http_options(const Config& config);

// Adds the readiness check "nats" (connected and the JetStream API answers).
void add_nats_readiness(http::Server& server, bus::Bus& bus);

// Runs `body` and maps failures to exit codes: 0 ok or --help, 2 configuration error (message on
// stderr), 1 any other error (logged).
int run(int argc, char** argv, const std::function<int(int, char**)>& body);

}  // namespace kiln::service
