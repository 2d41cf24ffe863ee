// A nats-server cluster with JetStream on loopback, for the tests that must hold on many hosts:
// every node a real nats-server process with its own store, routes between all of them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "support/servers.h"

namespace kiln::testing {

class NatsCluster {
 public:
  // Starts `size` nodes and waits until kiln's streams exist with `size` replicas (the meta
  // leader is elected and every node is reachable); throws, with the nodes' logs, if that takes
  // more than 60 s. nats-server 2.10.27 sometimes forms its meta group without a node that
  // started at the same moment and never adds it (every R3 placement then fails with a bare
  // "no suitable peers for placement"); such a node is restarted, which lets it join, as an
  // operator would (docs/deployment.md).
  explicit NatsCluster(int size = 3);

  int size() const { return static_cast<int>(nodes_.size()); }
  NatsServer& node(int index) { return *nodes_.at(static_cast<std::size_t>(index)); }
  std::string server_name(int index) const;
  // The index of the node named `server_name`; -1 when none is.
  int index_of(const std::string& server_name) const;
  // Every node's client URL, comma-separated: what services are given as nats.url.
  std::string urls() const;

  // The nodes the meta leader's group lacks (by server name), from each node's /jsz; empty when
  // the group is whole or no leader is known yet.
  std::vector<std::string> left_out_of_meta_group() const;

  // A connection to `url` (one node, or urls()) with replicas = size(); throws on failure.
  std::unique_ptr<bus::Bus> connect(const std::string& name, const std::string& url) const;

 private:
  std::vector<std::unique_ptr<NatsServer>> nodes_;
};

}  // namespace kiln::testing
