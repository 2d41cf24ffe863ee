// kiln's services on a 3-node NATS cluster (every stream and bucket with three replicas): two
// real kiln-scheduler processes given the cluster's URL list keep dispatching, each build once,
// while the node leading KILN_EVENTS is killed with SIGKILL and after it comes back, and when
// the leading scheduler is killed as well.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <thread>

#include "bus/cluster.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "support/nats_cluster.h"
#include "support/pipeline.h"
#include "support/servers.h"

namespace kiln {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class ClusterServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_ = cluster_.connect("cluster-services-test", cluster_.urls());
    for (const char* name : {"scheduler-a", "scheduler-b"}) {
      schedulers_.push_back(std::make_unique<testing::ServiceProcess>(
          name, std::string(KILN_BINARY_DIR) + "/services/scheduler/kiln-scheduler",
          testing::free_port(), std::map<std::string, std::string>{},
          std::vector<std::string>{"--nats.url=" + cluster_.urls(), "--nats.replicas=3",
                                   "--instance=" + std::string(name), "--dispatch.global-limit=0",
                                   "--scheduler.lease-seconds=3"}));
    }
    for (auto& scheduler : schedulers_) {
      ASSERT_TRUE(scheduler->wait_ready(60'000)) << scheduler->log();
    }
  }

  // Publishes `requested` of a new build, retrying what a client retries while the cluster
  // elects a new leader (same Msg-Id: stored once); returns its id.
  std::string request_build() {
    const std::string id = random_id();
    auto requested = testing::make_requested(id);
    const auto deadline = Clock::now() + 60s;
    while (true) {
      auto ack = testing::try_publish(*bus_, requested);
      if (ack.ok()) return id;
      EXPECT_LT(Clock::now(), deadline) << ack.error().describe();
      if (Clock::now() > deadline) return id;
      std::this_thread::sleep_for(200ms);
    }
  }

  bool dispatched_within(const std::string& id, std::chrono::seconds timeout) {
    return testing::wait_for_event(*bus_, id, {"dispatched"}, timeout, 50ms).has_value();
  }

  // The scheduler holding the lease: the one whose metric says it leads.
  int leader_index() {
    for (std::size_t i = 0; i < schedulers_.size(); ++i) {
      std::string metrics;
      testing::run_command("curl -sf " + schedulers_[i]->url() + "/metrics", &metrics);
      if (metrics.find("kiln_scheduler_leader 1") != std::string::npos) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  testing::NatsCluster cluster_{3};
  std::unique_ptr<bus::Bus> bus_;
  std::vector<std::unique_ptr<testing::ServiceProcess>> schedulers_;
};

TEST_F(ClusterServicesTest, SchedulersDispatchEachBuildOnceThroughNodeAndLeaderDeaths) {
  std::vector<std::string> builds;
  builds.push_back(request_build());
  ASSERT_TRUE(dispatched_within(builds.back(), 30s)) << schedulers_[0]->log();

  auto leader = bus::stream_leader(*bus_, bus::kEventsStream);
  ASSERT_TRUE(leader.ok());
  const int victim = cluster_.index_of(*leader);
  ASSERT_GE(victim, 0) << *leader;
  cluster_.node(victim).kill9();
  builds.push_back(request_build());
  EXPECT_TRUE(dispatched_within(builds.back(), 60s))
      << "no dispatch with node " << *leader << " dead\n"
      << schedulers_[0]->log() << schedulers_[1]->log();

  cluster_.node(victim).restart();
  builds.push_back(request_build());
  EXPECT_TRUE(dispatched_within(builds.back(), 60s)) << "no dispatch after the node came back";

  const int leading = leader_index();
  ASSERT_GE(leading, 0) << "no scheduler says it leads";
  schedulers_[static_cast<std::size_t>(leading)]->kill9();
  builds.push_back(request_build());
  EXPECT_TRUE(dispatched_within(builds.back(), 60s))
      << "the standby scheduler did not take over\n"
      << schedulers_[static_cast<std::size_t>(1 - leading)]->log();

  // A second dispatch would come from a scheduler that lost track: give it time to show.
  std::this_thread::sleep_for(3s);
  for (const auto& id : builds) {
    EXPECT_EQ(testing::read_events(*bus_, "kiln.build.dispatched." + id).size(), 1u)
        << "build " << id;
  }
}

}  // namespace
}  // namespace kiln
