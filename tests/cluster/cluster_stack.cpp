#include "cluster/cluster_stack.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <thread>

#include "bus/permissions.h"
#include "bus/topology.h"
#include "e2e/e2e_stack.h"
#include "support/servers.h"

namespace kiln::cluster {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kNatsNodes = 3;
constexpr int kNatsPort = 4222;
constexpr int kRoutePort = 6222;
constexpr int kMonitorPort = 8222;
constexpr int kPostgresPort = 5432;
constexpr int kRegistryPort = 5000;

std::string service_binary(const std::string& name) {
  return std::string(KILN_BINARY_DIR) + "/services/" + name + "/kiln-" + name;
}

// The newest PostgreSQL's bin directory, or $KILN_PG_BIN.
std::string postgres_bin() {
  if (const char* dir = std::getenv("KILN_PG_BIN"); dir != nullptr && *dir != '\0') return dir;
  int best = -1;
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ignored)) {
    const std::string version = entry.path().filename().string();
    if (version.find_first_not_of("0123456789") == std::string::npos &&
        fs::exists(entry.path() / "bin" / "postgres")) {
      best = std::max(best, std::stoi(version));
    }
  }
  if (best < 0) throw std::runtime_error("no PostgreSQL under /usr/lib/postgresql");
  return "/usr/lib/postgresql/" + std::to_string(best) + "/bin";
}

void append(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::app);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

std::string server_name(int index) { return "n" + std::to_string(index + 1); }

}  // namespace

std::string Service::url() const {
  return "http://" + process->host().address + ":" + std::to_string(port);
}

bool Service::ready() const {
  try {
    return e2e::http("GET", url() + "/readyz").status == 200;
  } catch (const Poco::Exception&) {
    return false;
  }
}

RunDir::~RunDir() {
  if (std::getenv("KILN_KEEP_TEST_LOGS") != nullptr) {
    std::fprintf(stderr, "cluster logs kept in %s/logs\n", path.c_str());
    testing::remove_tree(path + "/hosts");
  } else {
    testing::remove_tree(path);
  }
}

ClusterStack::ClusterStack()
    : run_dir_{testing::make_temp_dir("kiln-cluster")}, network_(run_dir_.path) {
  try {
    start();
  } catch (...) {
    shut_down();
    throw;
  }
}

ClusterStack::~ClusterStack() { shut_down(); }

void ClusterStack::start() {
  fs::create_directories(run_dir_.path + "/logs");
  start_postgres();
  start_registry();
  start_nats();
  // The base image goes from the test's own buildah storage to the registry, as an operator
  // would seed it; builders pull it from there.
  testing::push_base_image(registry(), std::string(KILN_BINARY_DIR) + "/test-buildah");

  const std::string tokens = std::string("admin:") + e2e::kAdminToken + ":*:admin";
  analytics_ =
      start_service("analytics", "analytics", 8081,
                    {{"KILN_DATABASE_URL", "postgresql://postgres@" + postgres_host_->address +
                                               ":" + std::to_string(kPostgresPort) + "/kiln"},
                     {"KILN_MIGRATIONS_DIR", std::string(KILN_SOURCE_DIR) + "/migrations"},
                     {"KILN_API_TOKENS", tokens}});
  ingest_ = start_service("webhook-ingest", "webhook-ingest", 8080,
                          {{"KILN_API_TOKENS", tokens},
                           {"KILN_REGISTRY_DEFAULT", registry()},
                           {"CLUSTER_WEBHOOK_SECRET", "cluster-webhook-secret"}});
  for (const char* name : {"scheduler-1", "scheduler-2"}) {
    // A short lease and lost-worker time keep the take-overs within the test's few minutes.
    schedulers_.push_back(start_service(name, "scheduler", 8082,
                                        {{"KILN_REGISTRY_DEFAULT", registry()},
                                         {"KILN_DISPATCH_GLOBAL_LIMIT", "4"},
                                         {"KILN_SCHEDULER_LEASE_SECONDS", "3"},
                                         {"KILN_DISPATCH_WORKER_LOST_SECONDS", "12"}}));
  }
  add_builder("builder-1");
  add_builder("builder-2");
  for (const char* name : {"pusher-1", "pusher-2"}) {
    pushers_.push_back(start_service(
        name, "pusher", 8084,
        {{"KILN_STAGING_REGISTRY", registry()}, {"KILN_REGISTRY_INSECURE", registry()}}));
  }
  std::vector<Service*> all = {&analytics_, &ingest_};
  for (auto* group : {&schedulers_, &builders_, &pushers_}) {
    for (auto& service : *group) all.push_back(&service);
  }
  wait_ready(all);
}

void ClusterStack::shut_down() {
  // Every process before the directories they use; the hosts' namespaces go last (members).
  for (auto* group : {&builders_, &pushers_, &schedulers_}) {
    for (auto& service : *group) service.process.reset();
  }
  ingest_.process.reset();
  analytics_.process.reset();
  nats_.clear();
  registry_.reset();
  if (postgres_) postgres_->stop();
  postgres_.reset();
}

std::string ClusterStack::log_path(const std::string& name) const {
  return run_dir_.path + "/logs/" + name + ".log";
}

Service ClusterStack::start_service(const std::string& name, const std::string& binary, int port,
                                    std::map<std::string, std::string> environment) {
  const Host& host = network_.add_host(name);
  // This host holds its own service's NATS password and no other.
  const bus::Credentials credentials{binary, nats_passwords_.at(binary)};
  if (auto written = bus::write_credentials_file(host.tmp() + "/nats-credentials", credentials);
      !written.ok()) {
    throw std::runtime_error(written.error().describe());
  }
  environment["KILN_NATS_CREDENTIALS_FILE"] = "/tmp/nats-credentials";
  environment["KILN_NATS_URL"] = nats_urls();
  environment["KILN_NATS_REPLICAS"] = "3";
  environment["KILN_HTTP_HOST"] = "0.0.0.0";  // its own namespace's addresses only
  environment["KILN_HTTP_PORT"] = std::to_string(port);
  environment["KILN_INSTANCE"] = name;
  Service service;
  service.port = port;
  service.process = std::make_unique<HostProcess>(host, name, std::vector{service_binary(binary)},
                                                  environment, log_path(name));
  return service;
}

Service& ClusterStack::add_builder(const std::string& name) {
  // Every path under the host's private /tmp: nothing of one builder is visible to another.
  builders_.push_back(start_service(name, "builder", 8083,
                                    {{"KILN_WORKER_ID", name},
                                     {"KILN_BUILDAH_ROOT", "/tmp/buildah"},
                                     {"KILN_ARTIFACTS_DIR", "/tmp/artifacts"},
                                     {"KILN_WORK_DIR", "/tmp/work"},
                                     {"KILN_BUILD_SLOTS", "1"},
                                     {"KILN_STAGING_REGISTRY", registry()},
                                     {"KILN_REGISTRY_INSECURE", registry()}}));
  return builders_.back();
}

void ClusterStack::wait_ready(std::vector<Service*> services) {
  const auto deadline = Clock::now() + 90s;
  for (auto* service : services) {
    while (!service->ready()) {
      if (!service->process->running() || Clock::now() > deadline) {
        throw std::runtime_error(service->process->name() + " did not become ready\n" + logs());
      }
      std::this_thread::sleep_for(100ms);
    }
  }
}

void ClusterStack::start_postgres() {
  const Host& host = network_.add_host("postgres");
  postgres_host_ = &host;
  const std::string bin = postgres_bin();
  // --no-sync: a test cluster need not survive a power cut.
  HostProcess initdb(host, "initdb",
                     {bin + "/initdb", "-D", "/tmp/data", "-U", "postgres", "--auth=trust", "-E",
                      "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                     {}, log_path("initdb"), /*as_postgres=*/true);
  if (!initdb.wait_exit(120000) || !fs::exists(host.tmp() + "/data/PG_VERSION")) {
    throw std::runtime_error("initdb failed\n" + initdb.log());
  }
  append(host.tmp() + "/data/postgresql.conf",
         "listen_addresses = '" + host.address +
             "'\nunix_socket_directories = ''\nfsync = off\nfull_page_writes = off\n"
             "shared_buffers = 32MB\n");
  append(host.tmp() + "/data/pg_hba.conf", "host all all " + network_.gateway() + "/24 trust\n");
  postgres_ = std::make_unique<HostProcess>(
      host, "postgres",
      std::vector<std::string>{bin + "/postgres", "-D", "/tmp/data", "-p",
                               std::to_string(kPostgresPort)},
      std::map<std::string, std::string>{}, log_path("postgres"), /*as_postgres=*/true);
  const std::string create = testing::sh_quote(bin + "/psql") + " -X -q -h " + host.address +
                             " -p " + std::to_string(kPostgresPort) +
                             " -U postgres -d postgres -c 'CREATE DATABASE kiln'";
  const auto deadline = Clock::now() + 60s;
  std::string output;
  while (testing::run_command(create, &output) != 0) {
    if (!postgres_->running() || Clock::now() > deadline) {
      throw std::runtime_error("PostgreSQL did not start: " + output + "\n" + postgres_->log());
    }
    std::this_thread::sleep_for(200ms);
  }
}

void ClusterStack::start_registry() {
  const Host& host = network_.add_host("registry");
  registry_host_ = &host;
  // Deletes on: pushers delete staged images and builders trim the shared cache.
  std::ofstream(host.tmp() + "/config.yml")
      << "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
      << "    rootdirectory: /tmp/data\n  delete:\n    enabled: true\n"
      << "http:\n  addr: 0.0.0.0:" << kRegistryPort << "\n";
  registry_ = std::make_unique<HostProcess>(
      host, "registry", std::vector<std::string>{"docker-registry", "serve", "/tmp/config.yml"},
      std::map<std::string, std::string>{}, log_path("registry"));
  if (!wait_for_tcp(host.address, kRegistryPort, 60000)) {
    throw std::runtime_error("the registry did not start\n" + registry_->log());
  }
}

std::string ClusterStack::registry() const {
  return registry_host_->address + ":" + std::to_string(kRegistryPort);
}

std::unique_ptr<HostProcess> ClusterStack::start_nats_node(int index) {
  const Host& host = *nats_hosts_.at(static_cast<std::size_t>(index));
  std::string routes;
  for (const auto* peer : nats_hosts_) {
    if (peer == &host) continue;
    if (!routes.empty()) routes += ',';
    routes += "nats://" + peer->address + ":" + std::to_string(kRoutePort);
  }
  auto authorization = bus::authorization_config(nats_passwords_);
  if (!authorization.ok()) throw std::runtime_error(authorization.error().describe());
  {
    std::ofstream out(host.tmp() + "/nats-auth.conf", std::ios::trunc);
    out << *authorization;
    if (!out.flush()) throw std::runtime_error("cannot write " + host.tmp() + "/nats-auth.conf");
  }
  auto node = std::make_unique<HostProcess>(
      host, server_name(index),
      std::vector<std::string>{"nats-server",
                               "-c",
                               "/tmp/nats-auth.conf",
                               "-js",
                               "-a",
                               "0.0.0.0",
                               "-p",
                               std::to_string(kNatsPort),
                               "-sd",
                               "/tmp/store",
                               "-m",
                               std::to_string(kMonitorPort),
                               "-n",
                               server_name(index),
                               "--cluster_name",
                               "kiln-cluster",
                               "--cluster",
                               "nats://0.0.0.0:" + std::to_string(kRoutePort),
                               "--routes",
                               routes},
      std::map<std::string, std::string>{}, log_path(server_name(index)));
  if (!wait_for_tcp(host.address, kNatsPort, 60000)) {
    throw std::runtime_error("nats-server " + server_name(index) + " did not start\n" +
                             node->log());
  }
  return node;
}

void ClusterStack::start_nats() {
  for (const auto& user : bus::kiln_permissions())
    nats_passwords_[user.user] = bus::random_password();
  for (int i = 0; i < kNatsNodes; ++i) nats_hosts_.push_back(&network_.add_host(server_name(i)));
  for (int i = 0; i < kNatsNodes; ++i) nats_.push_back(start_nats_node(i));
  // Formed once kiln's streams can be made with three replicas. nats-server 2.10.27 sometimes
  // forms its meta group without a node started at the same moment and never adds it; such a
  // node is restarted, as docs/deployment.md tells operators (and tests/support/nats_cluster does).
  const auto began = Clock::now();
  auto next_rejoin = began + 10s;
  std::string last_error;
  while (Clock::now() < began + 60s) {
    if (Clock::now() > next_rejoin) {
      next_rejoin += 15s;
      for (const auto& name : left_out_of_meta_group()) {
        std::fprintf(stderr, "nats: %s left out of the meta group; restarting it\n", name.c_str());
        const int index = nats_index(name);
        nats_[static_cast<std::size_t>(index)]->stop();
        nats_[static_cast<std::size_t>(index)] = start_nats_node(index);
      }
    }
    auto bus = bus::Bus::connect(admin_bus_options("cluster-fixture"));
    if (bus.ok()) {
      auto provisioned = bus::provision(**bus);
      if (provisioned.ok()) return;
      last_error = provisioned.error().describe();
    } else {
      last_error = bus.error().describe();
    }
    std::this_thread::sleep_for(250ms);
  }
  throw std::runtime_error("the NATS cluster did not form within 60 s: " + last_error + "\n" +
                           logs());
}

std::vector<std::string> ClusterStack::left_out_of_meta_group() const {
  std::set<std::string> members;
  bool leader_seen = false;
  for (const auto* host : nats_hosts_) {
    std::string body;
    const std::string url = "http://" + host->address + ":" + std::to_string(kMonitorPort) + "/jsz";
    if (testing::run_command("curl -sf --max-time 2 " + url, &body) != 0) continue;
    try {
      Poco::JSON::Parser parser;
      auto meta = parser.parse(body).extract<Poco::JSON::Object::Ptr>()->getObject("meta_cluster");
      // Only the leader lists the group's other members.
      if (!meta || !meta->has("leader") || !meta->has("replicas")) continue;
      leader_seen = true;
      members.insert(meta->getValue<std::string>("leader"));
      auto replicas = meta->getArray("replicas");
      for (std::size_t i = 0; i < replicas->size(); ++i) {
        members.insert(
            replicas->getObject(static_cast<unsigned>(i))->getValue<std::string>("name"));
      }
    } catch (const Poco::Exception&) {
      continue;
    }
  }
  std::vector<std::string> left_out;
  for (int i = 0; leader_seen && i < kNatsNodes; ++i) {
    if (!members.contains(server_name(i))) left_out.push_back(server_name(i));
  }
  return left_out;
}

int ClusterStack::nats_index(const std::string& name) const {
  for (int i = 0; i < kNatsNodes; ++i) {
    if (server_name(i) == name) return i;
  }
  return -1;
}

std::string ClusterStack::nats_urls() const {
  std::string out;
  for (const auto* host : nats_hosts_) {
    if (!out.empty()) out += ',';
    out += "nats://" + host->address + ":" + std::to_string(kNatsPort);
  }
  return out;
}

bus::BusOptions ClusterStack::admin_bus_options(const std::string& name) const {
  bus::BusOptions options{.url = nats_urls(), .name = name};
  options.replicas = kNatsNodes;
  options.user = bus::kAdminUser;
  options.password = nats_passwords_.at(bus::kAdminUser);
  return options;
}

std::unique_ptr<bus::Bus> ClusterStack::connect(const std::string& name) const {
  auto bus = bus::Bus::connect(admin_bus_options(name));
  if (!bus.ok()) throw std::runtime_error("connecting to NATS: " + bus.error().describe());
  return std::move(bus.value());
}

std::string ClusterStack::logs() const {
  std::string out;
  for (const auto& node : nats_) out += node->log(3000);
  for (const auto* group : {&schedulers_, &builders_, &pushers_}) {
    for (const auto& service : *group) out += service.process->log();
  }
  for (const auto* service : {&ingest_, &analytics_}) {
    if (service->process) out += service->process->log();
  }
  if (registry_) out += registry_->log(2000);
  if (postgres_) out += postgres_->log(2000);
  return out;
}

}  // namespace kiln::cluster
