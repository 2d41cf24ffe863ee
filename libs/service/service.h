// What every kiln service does the same way at start-up. Each service has one composition root,
// `<Service>(const <Service>Options&, bus::Bus&)` with start() and stop(), and a main.cpp that
// reads the same in all five:
//
//   int main(int argc, char** argv) {
//     return kiln::service::run(argc, argv, [](int argc, char** argv) {
//       kiln::pusher::PusherOptions options;
//       kiln::Config config = kiln::pusher::describe(options);
//       if (!config.parse(argc, argv)) return 0;  // --help
//       ...
//
// Errors: start-up failures are StartupError (common/config.h); run() prints them and exits 1.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "bus/topology.h"
#include "common/config.h"
#include "http/server.h"

namespace kiln::service {

// Defaults that more than one service declares, so each is written once. A single machine's
// local registry (infra/stack.sh) is reached over plain HTTP.
inline constexpr const char* kDefaultRegistry = "127.0.0.1:5000";
inline const std::vector<std::string> kDefaultInsecureRegistries = {"127.0.0.1:5000",
                                                                    "localhost:5000"};
inline constexpr const char* kDefaultArtifactsDir = ".kiln/artifacts";

// The options every service has: NATS, its HTTP server, logging and its instance id.
struct CommonOptions {
  explicit CommonOptions(int default_http_port);

  std::string nats_url = "nats://127.0.0.1:4222";
  // "user:password", owner-readable only (bus/permissions.h); empty: connect without a user.
  std::string nats_credentials_file;
  int nats_replicas = 1;
  http::ServerOptions http;
  std::string log_level = "info";
  // Stream limits every service provisions with: give every service the same values.
  bus::TopologyOptions streams;
  std::string instance;  // empty: <service>/<host>-<pid>, filled in by init_logging
};

// A Config for `program` with the common options bound to `common`, and every KILN_* variable
// that another kiln program reads declared as known.
Config make_config(const std::string& program, const std::string& summary, CommonOptions& common);

// Every KILN_* variable some kiln program or script reads (docs/configuration.md lists them).
const std::set<std::string>& kiln_environment();
// Its part that names options (tests check it against every service's declarations) ...
std::set<std::string> option_variables();
// ... and the rest, each with what reads it.
struct OtherVariable {
  std::string name;
  std::string read_by;
};
const std::vector<OtherVariable>& other_kiln_variables();

// Logs are JSON lines; sets common.instance when it is empty.
void init_logging(CommonOptions& common, const std::string& service);

// Connects (retrying every second until shutdown is requested; nullptr then) and provisions
// kiln's streams and buckets. Unreadable credentials, or credentials the server refuses, are a
// StartupError: waiting would not change them.
std::unique_ptr<bus::Bus> connect_bus(const CommonOptions& common);

// Adds the readiness check "nats" (connected and the JetStream API answers).
void add_nats_readiness(http::Server& server, bus::Bus& bus);

// Turns a Result's error into a StartupError naming `what` failed.
void require(const Status& status, const std::string& what);
template <typename T>
T require(Result<T> result, const std::string& what) {
  if (!result.ok()) require(Status(result.error()), what);
  return std::move(result.value());
}

// Runs `body` and maps failures to exit codes: 0 ok or --help; 1 a start-up error (message on
// stderr and in the log) or any other error (logged).
int run(int argc, char** argv, const std::function<int(int, char**)>& body);

}  // namespace kiln::service
