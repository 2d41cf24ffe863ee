// kiln as a cluster of hosts on one machine (tests/cluster/hosts.h): PostgreSQL, the registry and
// three nats-server nodes on hosts of their own, then every service instance on a host of its
// own, configured as docs/deployment.md says (every NATS URL, three replicas, one staging
// registry that every builder and pusher reaches). NATS admits only kiln's users: each service
// host gets the credentials file of its own service, as docs/deployment.md "A closed control
// plane" says. Ports are the defaults: every host has its own address, so nothing collides with
// other suites on the machine's loopback.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "cluster/hosts.h"

namespace kiln::cluster {

// A kiln service on its host.
struct Service {
  std::unique_ptr<HostProcess> process;
  int port = 0;
  std::string url() const;  // http://<host address>:<port>
  bool ready() const;       // GET /readyz answers 200
};

// The run's directory: the hosts' private directories and every process's log; removed at the
// end, but for the logs when KILN_KEEP_TEST_LOGS is set.
struct RunDir {
  std::string path;
  ~RunDir();
};

class ClusterStack {
 public:
  // Throws HostNetwork::NotPermitted when the machine refuses network namespaces.
  ClusterStack();
  ~ClusterStack();
  ClusterStack(const ClusterStack&) = delete;
  ClusterStack& operator=(const ClusterStack&) = delete;

  std::string registry() const;   // host:port, as builders, pushers and users name it
  std::string nats_urls() const;  // every node
  HostProcess& nats_node(int index) { return *nats_.at(static_cast<std::size_t>(index)); }
  // The index of the node with this server name ("n1".."n3"); -1 when none.
  int nats_index(const std::string& server_name) const;
  std::vector<Service>& schedulers() { return schedulers_; }
  std::vector<Service>& builders() { return builders_; }
  Service& ingest() { return ingest_; }
  Service& analytics() { return analytics_; }

  // A connection for the test, with three replicas; throws on failure.
  std::unique_ptr<bus::Bus> connect(const std::string& name) const;
  // A builder on a new, empty host (a replacement machine): empty layer cache, new worker id.
  Service& add_builder(const std::string& name);
  // Waits for /readyz of every running service; throws with their logs otherwise.
  void wait_ready(std::vector<Service*> services);
  std::string logs() const;  // every process's log tail, for failure messages

 private:
  void start();
  void shut_down();  // also when start() fails: the destructor does not run then
  void start_postgres();
  void start_registry();
  void start_nats();
  std::unique_ptr<HostProcess> start_nats_node(int index);
  std::vector<std::string> left_out_of_meta_group() const;
  Service start_service(const std::string& name, const std::string& binary, int port,
                        std::map<std::string, std::string> environment);
  std::string log_path(const std::string& name) const;
  // Options to connect as the operator (admin) with every node's URL.
  bus::BusOptions admin_bus_options(const std::string& name) const;

  RunDir run_dir_;
  HostNetwork network_;  // before the processes: their hosts outlive them
  std::vector<const Host*> nats_hosts_;
  std::map<std::string, std::string> nats_passwords_;  // kiln's NATS users (bus/permissions.h)
  std::vector<std::unique_ptr<HostProcess>> nats_;
  const Host* postgres_host_ = nullptr;
  const Host* registry_host_ = nullptr;
  std::unique_ptr<HostProcess> postgres_, registry_;
  Service analytics_, ingest_;
  std::vector<Service> schedulers_, builders_, pushers_;
};

}  // namespace kiln::cluster
