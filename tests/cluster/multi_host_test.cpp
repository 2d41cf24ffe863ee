// kiln on many hosts (issue 15): every service instance, nats-server node, PostgreSQL and the
// registry on a host of its own (network and mount namespaces, tests/cluster/hosts.h). A stream
// of builds goes in through the HTTP API while a builder with a build in flight, the node leading
// KILN_EVENTS and the leading scheduler are killed with SIGKILL. Every build answered 202 must
// succeed exactly once, every event stored before the node died must still be there, and builds
// must find layers that another builder made (the shared cache on the registry).
#include <Poco/Base64Encoder.h>
#include <Poco/Exception.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bus/cluster.h"
#include "bus/topology.h"
#include "cluster/cluster_stack.h"
#include "cluster/event_log.h"
#include "e2e/e2e_stack.h"

namespace kiln::cluster {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// One build per project first, so the registry holds every project's steps before the stream
// begins and the builder that joins mid-stream finds them there.
constexpr int kWarmUpBuilds = 4;
constexpr int kBuilds = 20;
// Few projects for many builds: most builds can reuse a step some builder made before.
const std::vector<std::string> kProjects = {"alpha", "beta", "gamma", "delta"};
const std::string kAuthorization = std::string("Bearer ") + e2e::kAdminToken;

std::string base64(const std::string& text) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);
  encoder << text;
  encoder.close();
  return out.str();
}

// Builds with cached steps run by a worker that had started no build of their project before:
// their cache came from another builder, through the registry. Prints every build's cache use.
std::vector<std::string> shared_cache_hits(const EventLog& log) {
  std::map<std::string, std::set<std::string>> workers_of_project;
  std::vector<std::string> hits;
  for (const auto& [sequence, event] : log.by_sequence) {
    if (event.type() != "started") continue;
    const std::string id = event.build_id();
    const std::string worker = event.started().worker_id();
    const auto requested = log.of(id, "requested");
    const auto built = log.of(id, "built");
    if (requested.empty() || built.empty()) continue;
    auto& workers = workers_of_project[requested[0]->requested().project()];
    const bool first_of_project_here = !workers.contains(worker);
    workers.insert(worker);
    const auto& result = built[0]->built();
    if (result.attempt() != event.started().attempt()) continue;  // an attempt that lost
    std::printf("%s %-5s on %s: %d of %d steps cached%s\n", id.c_str(),
                requested[0]->requested().project().c_str(), worker.c_str(), result.steps_cached(),
                result.steps_total(), first_of_project_here ? " (its first of the project)" : "");
    if (first_of_project_here && result.steps_cached() > 0) hits.push_back(id);
  }
  return hits;
}

class MultiHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      stack_ = std::make_unique<ClusterStack>();
    } catch (const HostNetwork::NotPermitted& e) {
      GTEST_SKIP() << "no hosts can be made on this machine: " << e.what();
    }
    bus_ = stack_->connect("multi-host-test");
    for (const auto& project : kProjects) {
      e2e::apply_project(stack_->ingest().url(),
                         R"({"name":")" + project + R"(","repository_url":"https://git.invalid/)" +
                             project + R"(.git","image_repository":"cluster/)" + project + R"("})");
    }
  }

  // The first RUN step is the project's own (cacheable by any builder that built the project);
  // the second is the build's own, so every build has work in flight to be killed.
  std::string dockerfile(int n) const {
    const std::string& project = kProjects[static_cast<std::size_t>(n) % kProjects.size()];
    return "FROM " + stack_->registry() + "/kiln/busybox\nRUN echo " + project +
           " > /project && sleep 1\nRUN echo build " + std::to_string(n) + " > /build && sleep 2\n";
  }

  // POST /v1/builds as a client does: a 503 or a dropped connection (a node died under
  // webhook-ingest) is retried with the same Idempotency-Key, which yields the same build.
  // Returns the build id of the 202, or empty (a test failure) when none came.
  std::string request_build(int n) {
    const std::string project = kProjects[static_cast<std::size_t>(n) % kProjects.size()];
    const std::string body = R"({"project":")" + project + R"(","image":"cluster/)" + project +
                             R"(","tag":"b)" + std::to_string(n) + R"(","dockerfile_base64":")" +
                             base64(dockerfile(n)) + R"("})";
    const auto deadline = Clock::now() + 60s;
    std::string last = "no answer";
    while (Clock::now() < deadline) {
      try {
        auto reply = e2e::http("POST", stack_->ingest().url() + "/v1/builds", body,
                               {{"Authorization", kAuthorization},
                                {"Idempotency-Key", "cluster-build-" + std::to_string(n)}});
        if (reply.status == 202) return e2e::str(reply.json(), "build_id");
        last = std::to_string(reply.status) + " " + reply.body;
        if (reply.status != 503) break;
      } catch (const Poco::Exception& e) {
        last = e.displayText();
      }
      std::this_thread::sleep_for(250ms);
    }
    ADD_FAILURE() << "build " << n << " not accepted: " << last;
    return "";
  }

  // The event log read whole, retried while the cluster elects leaders after a node's death.
  EventLog event_log() {
    const auto deadline = Clock::now() + 30s;
    while (Clock::now() < deadline) {
      if (auto log = read_event_log(*bus_)) return *log;
      std::this_thread::sleep_for(500ms);
    }
    ADD_FAILURE() << "KILN_EVENTS could not be read whole for 30 s";
    return {};
  }

  // Kills a builder that is running a build (its build must move to another builder), and puts a
  // new, empty builder host in its place.
  void kill_busy_builder() {
    const auto deadline = Clock::now() + 60s;
    while (Clock::now() < deadline) {
      const EventLog log = event_log();
      for (const auto& [sequence, started] : log.by_sequence) {
        if (started.type() != "started") continue;
        const std::string id = started.build_id();
        if (!log.of(id, "built").empty() || !log.of(id, "failed").empty()) continue;
        for (auto& builder : stack_->builders()) {
          if (builder.process->name() == started.started().worker_id() &&
              builder.process->running()) {
            builder.process->kill9();
            killed_builder_ = builder.process->name();
            build_of_killed_builder_ = id;
            std::printf("killed %s while it ran build %s\n", killed_builder_.c_str(), id.c_str());
            stack_->add_builder("builder-3");
            return;
          }
        }
      }
      std::this_thread::sleep_for(200ms);
    }
    ADD_FAILURE() << "no builder was seen running a build within 60 s";
  }

  void kill_events_leader_node() {
    auto leader = bus::stream_leader(*bus_, bus::kEventsStream);
    ASSERT_TRUE(leader.ok()) << leader.error().describe();
    const int index = stack_->nats_index(*leader);
    ASSERT_GE(index, 0) << *leader;
    before_node_kill_ = event_log();
    stack_->nats_node(index).kill9();
    std::printf("killed nats node %s (KILN_EVENTS leader) after %zu events\n", leader->c_str(),
                before_node_kill_.by_sequence.size());
  }

  void kill_leading_scheduler() {
    for (auto& scheduler : stack_->schedulers()) {
      std::string metrics;
      try {
        metrics = e2e::http("GET", scheduler.url() + "/metrics").body;
      } catch (const Poco::Exception&) {
        continue;
      }
      if (metrics.find("kiln_scheduler_leader 1") != std::string::npos) {
        scheduler.process->kill9();
        std::printf("killed %s (leading)\n", scheduler.process->name().c_str());
        return;
      }
    }
    ADD_FAILURE() << "no scheduler says it leads";
  }

  // Waits until every build has an outcome in the log; returns the log then.
  EventLog wait_for_outcomes(const std::vector<std::string>& builds) {
    const auto deadline = Clock::now() + 180s;
    EventLog log;
    while (Clock::now() < deadline) {
      log = event_log();
      const auto ended = log.builds_with({"succeeded", "failed", "cancelled"});
      if (std::all_of(builds.begin(), builds.end(),
                      [&](const std::string& id) { return ended.contains(id); })) {
        return log;
      }
      std::this_thread::sleep_for(1s);
    }
    ADD_FAILURE() << "builds still unfinished after 180 s\n" << stack_->logs();
    return log;
  }

  // Analytics projected the same outcomes, and the cached steps of the shared hits (at least one
  // listed step: a step event published while a node dies may be lost, its build is not).
  void expect_analytics_agrees(const std::vector<std::string>& builds,
                               const std::vector<std::string>& shared_hits) {
    const auto deadline = Clock::now() + 60s;
    bool cached_step_listed = false;
    for (const auto& id : builds) {
      Poco::JSON::Object::Ptr build;
      while (Clock::now() < deadline) {
        auto reply = e2e::http("GET", stack_->analytics().url() + "/v1/builds/" + id, "",
                               {{"Authorization", kAuthorization}});
        if (reply.status == 200) {
          build = reply.json();
          if (e2e::str(build, "status") == "succeeded") break;
        }
        std::this_thread::sleep_for(500ms);
      }
      ASSERT_TRUE(build) << "analytics does not know build " << id;
      EXPECT_EQ(e2e::str(build, "status"), "succeeded") << id;
      EXPECT_EQ(e2e::history_counts(build)["succeeded"], 1) << id;
      if (std::find(shared_hits.begin(), shared_hits.end(), id) == shared_hits.end()) continue;
      auto result = build->getObject("result");
      EXPECT_GT(result ? result->optValue<int>("steps_cached", 0) : 0, 0) << id;
      auto steps = build->getArray("steps");
      for (std::size_t i = 0; steps && i < steps->size(); ++i) {
        cached_step_listed |=
            steps->getObject(static_cast<unsigned>(i))->optValue<bool>("cached", false);
      }
    }
    EXPECT_TRUE(cached_step_listed) << "analytics lists no cached step of a shared hit";
  }

  std::unique_ptr<ClusterStack> stack_;
  std::unique_ptr<bus::Bus> bus_;
  std::string killed_builder_;
  std::string build_of_killed_builder_;
  EventLog before_node_kill_;
};

TEST_F(MultiHostTest, EveryAcceptedBuildSucceedsOnceThroughKilledNodeBuilderAndLeader) {
  std::vector<std::string> builds;
  for (int n = 0; n < kWarmUpBuilds; ++n) builds.push_back(request_build(n));
  wait_for_outcomes(builds);
  for (int n = kWarmUpBuilds; n < kBuilds; ++n) {
    builds.push_back(request_build(n));
    if (n == kWarmUpBuilds + 3) kill_busy_builder();
    if (n == kWarmUpBuilds + 7) kill_events_leader_node();
    if (n == kWarmUpBuilds + 10) kill_leading_scheduler();
    std::this_thread::sleep_for(700ms);  // a stream of builds, not a burst
  }
  ASSERT_FALSE(killed_builder_.empty());
  stack_->wait_ready({&stack_->builders().back()});
  const EventLog log = wait_for_outcomes(builds);

  for (const auto& id : builds) {
    SCOPED_TRACE("build " + id);
    EXPECT_EQ(log.of(id, "succeeded").size(), 1u);
    EXPECT_EQ(log.of(id, "failed").size(), 0u);
    EXPECT_EQ(log.of(id, "cancelled").size(), 0u);
    EXPECT_EQ(log.of(id, "built").size(), 1u);
    EXPECT_EQ(log.of(id, "pushed").size(), 1u);
    EXPECT_EQ(log.of(id, "requested").size(), 1u);
  }
  // The killed builder's build ran again elsewhere.
  const auto moved = log.of(build_of_killed_builder_, "built");
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_NE(log.worker_of(build_of_killed_builder_, moved[0]->built().attempt()), killed_builder_);

  // Acked before the node died, so on both survivors: same place, same event.
  ASSERT_FALSE(before_node_kill_.by_sequence.empty());
  for (const auto& [sequence, event] : before_node_kill_.by_sequence) {
    auto found = log.by_sequence.find(sequence);
    ASSERT_NE(found, log.by_sequence.end()) << "event " << sequence << " lost";
    EXPECT_EQ(found->second.event_id(), event.event_id()) << "event " << sequence << " replaced";
  }

  const std::vector<std::string> shared_hits = shared_cache_hits(log);
  ASSERT_FALSE(shared_hits.empty()) << "no build reused another builder's layers";

  int redispatched = 0;
  for (const auto& id : builds) redispatched += log.of(id, "dispatched").size() > 1 ? 1 : 0;
  std::printf("%zu builds, %d dispatched more than once, %zu reused another builder's layers\n",
              builds.size(), redispatched, shared_hits.size());

  expect_analytics_agrees(builds, shared_hits);
}

}  // namespace
}  // namespace kiln::cluster
