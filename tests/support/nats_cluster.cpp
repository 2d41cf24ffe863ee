#include "support/nats_cluster.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <thread>

#include "bus/topology.h"
#include "support/process.h"

namespace kiln::testing {

NatsCluster::NatsCluster(int size) {
  // Route ports are chosen up front (a clustered JetStream node refuses to start without routes).
  // A node whose port was taken meanwhile gets another; it dials the nodes started before it, and
  // gossip tells them its real port.
  std::vector<int> route_ports;
  for (int i = 0; i < size; ++i) route_ports.push_back(free_port());
  for (int i = 0; i < size; ++i) {
    std::vector<int> peers = route_ports;
    peers.erase(peers.begin() + i);
    nodes_.push_back(std::make_unique<NatsServer>(
        NatsClusterMember{.server_name = server_name(i),
                          .peer_route_ports = std::move(peers),
                          .route_port = route_ports[static_cast<std::size_t>(i)]}));
    route_ports[static_cast<std::size_t>(i)] = nodes_.back()->route_port();
  }
  // A node that restarts dials every other node.
  for (int i = 0; i < size; ++i) {
    std::vector<int> peers;
    for (int j = 0; j < size; ++j) {
      if (j != i) peers.push_back(route_ports[static_cast<std::size_t>(j)]);
    }
    nodes_[static_cast<std::size_t>(i)]->set_peer_route_ports(std::move(peers));
  }
  const auto began = std::chrono::steady_clock::now();
  const auto deadline = began + std::chrono::seconds(60);
  std::string last_error = "not tried";
  auto next_rejoin = began + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::chrono::steady_clock::now() > next_rejoin) {
      next_rejoin += std::chrono::seconds(15);
      for (const auto& name : left_out_of_meta_group()) {
        std::fprintf(stderr, "nats cluster: %s was left out of the meta group; restarting it\n",
                     name.c_str());
        node(index_of(name)).restart();
      }
    }
    bus::BusOptions options{.url = urls(), .name = "cluster-fixture"};
    options.replicas = size;
    auto bus = bus::Bus::connect(options);
    if (bus.ok()) {
      auto provisioned = bus::provision(**bus);
      if (provisioned.ok()) {
        return;
      }
      last_error = provisioned.error().describe();
    } else {
      last_error = bus.error().describe();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  std::string logs;
  for (int i = 0; i < size; ++i) {
    logs += "\n--- " + server_name(i) + " ---\n" + node(i).log() + "\n--- " + server_name(i) +
            " peer selection ---\n" + node(i).log("Peer selection");
  }
  throw std::runtime_error("the NATS cluster did not form within 60 s: " + last_error + logs);
}

std::vector<std::string> NatsCluster::left_out_of_meta_group() const {
  std::set<std::string> members;
  bool leader_seen = false;
  for (const auto& node : nodes_) {
    std::string body;
    const std::string url = "http://127.0.0.1:" + std::to_string(node->monitor_port()) + "/jsz";
    if (run_command("curl -sf --max-time 2 " + url, &body) != 0) continue;
    try {
      Poco::JSON::Parser parser;
      auto jsz = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
      auto meta = jsz->getObject("meta_cluster");
      if (!meta || !meta->has("leader")) continue;
      const std::string leader = meta->getValue<std::string>("leader");
      // Only the leader lists the group's other members.
      if (leader.empty() || !meta->has("replicas")) continue;
      leader_seen = true;
      members.insert(leader);
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
  if (!leader_seen) return left_out;
  for (int i = 0; i < size(); ++i) {
    if (!members.contains(server_name(i))) left_out.push_back(server_name(i));
  }
  return left_out;
}

std::string NatsCluster::server_name(int index) const {
  std::string name = "n";
  name += std::to_string(index + 1);
  return name;
}

int NatsCluster::index_of(const std::string& server_name) const {
  for (int i = 0; i < size(); ++i) {
    if (this->server_name(i) == server_name) return i;
  }
  return -1;
}

std::string NatsCluster::urls() const {
  std::string out;
  for (const auto& node : nodes_) {
    if (!out.empty()) out += ',';
    out += node->url();
  }
  return out;
}

std::unique_ptr<bus::Bus> NatsCluster::connect(const std::string& name,
                                               const std::string& url) const {
  bus::BusOptions options{.url = url, .name = name};
  options.replicas = size();
  auto bus = bus::Bus::connect(options);
  if (!bus.ok()) throw std::runtime_error("connecting to " + url + ": " + bus.error().describe());
  return std::move(bus.value());
}

}  // namespace kiln::testing
