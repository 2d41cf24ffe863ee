// The builder against real parts: nats-server, docker-registry serving kiln's busybox base
// image, buildah, and Git repositories made here with `git init`. Builds are driven the way the
// scheduler drives them (requested + dispatched events); outcomes are read back from the log.
#include "builder/builder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

#include "bus/bus.h"
#include "common/ids.h"
#include "events/envelope.h"
#include "events/subjects.h"
#include "oci/layout.h"
#include "support/git_repo.h"
#include "support/pipeline.h"
#include "support/process.h"
#include "support/servers.h"
#include "support/staged.h"

namespace kiln::builder {
namespace {

namespace fs = std::filesystem;
namespace v1 = events::v1;
using Clock = std::chrono::steady_clock;
using testing::processes_matching;

constexpr char kSecretValue[] = "kiln-s3cret-value-7f3a9c";

struct Outcome {
  std::vector<v1::Envelope> events;  // every event of the build, in order
  const v1::Envelope* last = nullptr;
  std::string type() const { return last ? last->type() : ""; }
  int count(const std::string& type) const {
    int n = 0;
    for (const auto& e : events) n += e.type() == type;
    return n;
  }
};

constexpr std::int64_t kLogCap = 256 << 10;

class BuilderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    nats_ = std::make_unique<testing::NatsServer>();
    registry_ = std::make_unique<testing::RegistryServer>();
    root_ = testing::make_temp_dir("kiln-builder-test");
    testing::push_base_image(registry_->host(), root_ + "/buildah");
    base_image_ = registry_->host() + "/kiln/busybox";
    bus_ = testing::connect_bus(nats_->url(), "builder-test");

    options_ = std::make_unique<BuilderOptions>();
    options_->worker_id = "builder-test";
    options_->buildah_root = root_ + "/buildah";
    options_->artifacts_dir = root_ + "/artifacts";
    options_->work_dir = root_ + "/work";
    options_->insecure_registries = {registry_->host()};
    options_->staging.registry = registry_->host();
    options_->heartbeat_seconds = 1;
    options_->platform = "linux/amd64";
    options_->secrets = {{"tok", kSecretValue}};
    options_->secrets_dir = root_ + "/store";
    options_->log_max_bytes = kLogCap;
    options_->common.http.port = 0;
    builder_ = std::make_unique<Builder>(*options_, *bus_);
    builder_->start();
  }

  static void TearDownTestSuite() {
    builder_.reset();
    options_.reset();
    bus_.reset();
    registry_.reset();
    nats_.reset();
    testing::remove_tree(root_);
  }

  // A Git repository with `files`, committed on branch main; returns its file:// URL.
  static std::string make_repo(const std::map<std::string, std::string>& files,
                               std::string* commit = nullptr) {
    const auto repo = testing::make_git_repo(root_ + "/repos/" + random_id(), files);
    if (commit) *commit = repo.commit;
    return repo.url;
  }

  static void publish(v1::Envelope envelope, const std::string& msg_id_suffix = {}) {
    testing::publish(*bus_, std::move(envelope), msg_id_suffix);
  }

  static void publish_requested(const std::string& id, const std::string& repo,
                                const std::string& commit, const std::string& ref,
                                const v1::BuildSpec& spec) {
    publish(testing::make_git_requested(id, repo, commit, ref, spec));
  }

  static void publish_dispatched(const std::string& id, int attempt,
                                 const std::string& msg_id_suffix = {}) {
    publish(testing::make_dispatched(id, attempt), msg_id_suffix);
  }

  // requested + dispatched for a repository holding `files`; returns the build id.
  static std::string start_build(const std::map<std::string, std::string>& files,
                                 v1::BuildSpec spec = {}) {
    const std::string id = random_id();
    std::string commit;
    const std::string repo = make_repo(files, &commit);
    publish_requested(id, repo, commit, "refs/heads/main", spec);
    publish_dispatched(id, 1);
    return id;
  }

  static std::vector<v1::Envelope> read_events(const std::string& id) {
    return testing::read_events(*bus_, events::build_events_filter(id));
  }

  // Waits for built, failed or cancelled.
  static Outcome wait_outcome(const std::string& id,
                              std::chrono::seconds timeout = std::chrono::seconds(120)) {
    Outcome outcome;
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      outcome.events = read_events(id);
      for (const auto& e : outcome.events) {
        if (e.type() == "built" || e.type() == "failed" || e.type() == "cancelled") {
          outcome.last = &e;
          // keep reading a moment so late step events are included
        }
      }
      if (outcome.last) return outcome;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "no outcome for build " << id << " within " << timeout.count() << " s";
    return outcome;
  }

  static std::string read_logs(const std::string& id) {
    return testing::read_log_text(*bus_, id, testing::LogCheck::kConsecutive);
  }

  static std::string dockerfile(const std::string& body) {
    return "FROM " + base_image_ + "\n" + body;
  }

  static inline std::unique_ptr<testing::NatsServer> nats_;
  static inline std::unique_ptr<testing::RegistryServer> registry_;
  static inline std::string root_;
  static inline std::string base_image_;
  static inline std::unique_ptr<bus::Bus> bus_;
  static inline std::unique_ptr<BuilderOptions> options_;
  static inline std::unique_ptr<Builder> builder_;
};

TEST_F(BuilderTest, ALogPastItsCapIsCutWithAMarkerAndTheBuildSucceeds) {
  // About 1 MiB of output against the suite's 256 KiB cap.
  const std::string id =
      start_build({{"Dockerfile", dockerfile("RUN i=0; while [ $i -lt 16000 ]; do echo "
                                             "line-$i-of-a-chatty-build-step-padding-padding; "
                                             "i=$((i+1)); done\n")}});
  const Outcome outcome = wait_outcome(id);
  ASSERT_EQ(outcome.type(), "built");
  // The tally is the last line, written as the log closes after `built`.
  std::string logs;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  auto truncated = [] { return builder_->metrics().value("kiln_builder_logs_truncated_total"); };
  while (Clock::now() < deadline &&
         (logs.find("were not stored") == std::string::npos || truncated() < 1)) {
    logs = read_logs(id);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(logs.find("kiln: the log reached build.log-max-bytes (262144 bytes); later lines "
                      "are not stored, the build goes on"),
            std::string::npos);
  EXPECT_NE(logs.find("were not stored"), std::string::npos) << logs.substr(logs.size() - 500);
  EXPECT_NE(logs.find("line-100-of"), std::string::npos) << "lines before the cap are kept";
  EXPECT_EQ(logs.find("line-15999-of"), std::string::npos) << "lines after the cap are dropped";
  EXPECT_LT(logs.size(), static_cast<std::size_t>(kLogCap) + 64 * 1024);
  EXPECT_EQ(truncated(), 1);
}

TEST_F(BuilderTest, MultiStepBuildWritesAValidLayoutAndRebuildUsesCache) {
  const std::map<std::string, std::string> files = {
      {"Dockerfile", dockerfile("ARG GREETING=hello\n"
                                "RUN echo \"$GREETING from kiln\" > /greeting\n"
                                "COPY app.txt /app.txt\n"
                                "RUN cat /greeting /app.txt\n")},
      {"app.txt", "app-content-42\n"}};
  const auto t0 = Clock::now();
  const std::string id = start_build(files);
  const Outcome outcome = wait_outcome(id);
  const auto first_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  ASSERT_EQ(outcome.type(), "built") << (outcome.last ? outcome.last->DebugString() : "");
  std::cout << "first build (dispatched -> built observed): " << first_ms << " ms\n";

  const auto& built = outcome.last->built();
  EXPECT_EQ(outcome.count("started"), 1);
  EXPECT_EQ(built.steps_total(), 5);
  EXPECT_EQ(outcome.count("step_started"), 5);
  EXPECT_EQ(outcome.count("step_finished"), 5);
  EXPECT_EQ(built.attempt(), 1);
  EXPECT_GT(built.build_duration_ms(), 0);
  // Staged under a tag of the attempt's own, in the staging registry (no shared disk).
  EXPECT_EQ(built.staged().registry(), registry_->host());
  EXPECT_EQ(built.staged().repository(), "kiln-staging");
  EXPECT_EQ(built.staged().tag().rfind(id + "-a1-", 0), 0u) << built.staged().tag();
  EXPECT_TRUE(built.artifact_location().empty());

  // The staged image is whole: every blob's bytes match its digest (read_staged checks).
  testing::StagedContent staged;
  ASSERT_NO_THROW(staged = testing::read_staged(built));
  ASSERT_TRUE(staged.manifest.config.has_value());
  EXPECT_EQ(staged.manifest.config->digest, built.config_digest());
  ASSERT_EQ(staged.manifest.layers.size(), static_cast<std::size_t>(built.layers_size()));
  for (int i = 0; i < built.layers_size(); ++i) {
    EXPECT_EQ(staged.manifest.layers[i].digest, built.layers(i).digest());
  }
  // The local layout is gone once staged.
  EXPECT_TRUE(!fs::exists(options_->artifacts_dir) || fs::is_empty(options_->artifacts_dir));
  const std::string logs = read_logs(id);
  EXPECT_NE(logs.find("hello from kiln"), std::string::npos) << logs;
  EXPECT_NE(logs.find("app-content-42"), std::string::npos) << logs;
  // The work directory is gone.
  EXPECT_FALSE(fs::exists(options_->work_dir) && !fs::is_empty(options_->work_dir));

  // The same source again: the RUN and COPY steps come from the cache.
  const auto t1 = Clock::now();
  const std::string again = start_build(files);
  const Outcome rebuilt = wait_outcome(again);
  const auto second_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t1).count();
  ASSERT_EQ(rebuilt.type(), "built");
  std::cout << "cached rebuild: " << second_ms << " ms\n";
  EXPECT_GE(rebuilt.last->built().steps_cached(), 3);
  int cached_steps = 0;
  for (const auto& e : rebuilt.events)
    cached_steps += e.has_step_finished() && e.step_finished().cached();
  EXPECT_EQ(cached_steps, rebuilt.last->built().steps_cached());
  EXPECT_GT(builder_->metrics().value("kiln_builder_steps_total", {{"cached", "true"}}), 0);
}

TEST_F(BuilderTest, BuildArgsAndTargetStageTakeEffect) {
  v1::BuildSpec spec;
  (*spec.mutable_build_args())["WORD"] = "arg-value-from-spec";
  spec.set_target("first");
  const std::string id =
      start_build({{"Dockerfile", "FROM " + base_image_ +
                                      " AS first\n"
                                      "ARG WORD=default-word\n"
                                      "RUN echo \"word=$WORD\" > /word && cat /word\n"
                                      "FROM first AS second\n"
                                      "RUN echo second-stage-ran\n"}},
                  spec);
  const Outcome outcome = wait_outcome(id);
  ASSERT_EQ(outcome.type(), "built") << (outcome.last ? outcome.last->DebugString() : "");
  const std::string logs = read_logs(id);
  EXPECT_NE(logs.find("word=arg-value-from-spec"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("second-stage-ran"), std::string::npos) << logs;
  EXPECT_EQ(outcome.last->built().steps_total(), 3);
}

// An outside host for network probes: a network namespace on a veth pair, serving one file with
// busybox httpd; and the same file served by the host itself on every address.
class OutsideHost {
 public:
  OutsideHost()
      : tag_(std::to_string(getpid() % 100000)),
        netns_("kiln-test-outside-" + tag_),
        subnet_("10.239." + std::to_string(getpid() % 250)),
        dir_(testing::make_temp_dir("outside-host")),
        port_(testing::free_port()),
        host_port_(testing::free_port()) {
    std::ofstream(dir_ + "/marker.txt") << "outside-marker\n";
    const std::string veth = "kto" + tag_;
    testing::must_run("ip netns add " + netns_ + " && ip link add " + veth +
                      "a type veth peer name " + veth + "b && ip link set " + veth + "b netns " +
                      netns_ + " && ip addr add " + host_address() + "/30 dev " + veth +
                      "a && ip link set " + veth + "a up && ip -n " + netns_ + " addr add " +
                      address() + "/30 dev " + veth + "b && ip -n " + netns_ + " link set " + veth +
                      "b up && ip -n " + netns_ + " link set lo up");
    testing::must_run("ip netns exec " + netns_ + " busybox httpd -p " + address() + ":" +
                      std::to_string(port_) + " -h " + dir_);
    testing::must_run("busybox httpd -p 0.0.0.0:" + std::to_string(host_port_) + " -h " + dir_);
  }
  ~OutsideHost() {
    testing::run_command("ip netns pids " + netns_ + " | xargs -r kill -9; ip netns delete " +
                         netns_ + "; ip link delete kto" + tag_ + "a 2>/dev/null; pkill -9 -f " +
                         testing::sh_quote("httpd -p 0.0.0.0:" + std::to_string(host_port_)));
  }
  std::string address() const { return subnet_ + ".2"; }
  std::string host_address() const { return subnet_ + ".1"; }  // the builder's own host
  int port() const { return port_; }
  int host_port() const { return host_port_; }

 private:
  std::string tag_, netns_, subnet_, dir_;
  int port_, host_port_;
};

TEST_F(BuilderTest, RunStepsReachTheOutsideOnlyWithNetworkAndNeverTheHost) {
  const OutsideHost outside;
  // nats-server greets every connection with INFO, the outside host answers with its marker:
  // seeing either proves the port was reached. (busybox wget crashes on a refused connection,
  // so HTTP is spoken with nc.)
  auto reached = [](const std::string& host, int port, const std::string& expect,
                    const std::string& name) {
    return "(printf 'GET /marker.txt HTTP/1.0\\r\\n\\r\\n' | timeout 5 nc -w 3 " + host + " " +
           std::to_string(port) + " | grep -q " + expect + " && echo reached-" + name + ")";
  };
  const std::string probe = dockerfile(
      "RUN " + reached("127.0.0.1", nats_->port(), "INFO", "loopback-nats") + " ; " +
      reached("10.0.2.2", nats_->port(), "INFO", "slirp-host-nats") + " ; " +
      reached(outside.host_address(), outside.host_port(), "outside-marker", "the-host") + " ; " +
      reached(outside.address(), outside.port(), "outside-marker", "outside") + " && true\n");
  const std::string id = start_build({{"Dockerfile", probe}});
  const Outcome outcome = wait_outcome(id);
  ASSERT_EQ(outcome.type(), "failed");
  EXPECT_EQ(outcome.last->failed().stage(), v1::BUILD);
  EXPECT_NE(outcome.last->failed().exit_code(), 0);
  const std::string closed = read_logs(id);
  EXPECT_EQ(closed.find("\nreached-"), std::string::npos) << closed;

  // With network: the outside host answers, nothing of the builder's host does.
  v1::BuildSpec spec;
  spec.set_network(true);
  const std::string open = start_build({{"Dockerfile", probe}}, spec);
  const Outcome allowed = wait_outcome(open);
  const std::string logs = read_logs(open);
  EXPECT_EQ(allowed.type(), "built") << (allowed.last ? allowed.last->DebugString() : "") << logs;
  EXPECT_NE(logs.find("\nreached-outside\n"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("\nreached-loopback-nats\n"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("\nreached-slirp-host-nats\n"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("\nreached-the-host\n"), std::string::npos) << logs;
  std::string left;
  testing::run_command("ls /run/netns | grep -c '^kiln-" + std::to_string(getpid()) + "-'", &left);
  EXPECT_EQ(left, "0\n") << "the build's network namespace outlived the build";
}

// A project's secrets come from its tenant's directory of the store: usable by the RUN step,
// masked in the log, and another tenant naming the same secret gets nothing.
TEST_F(BuilderTest, ProjectSecretsComeFromTheTenantsStoreOnly) {
  const std::string value = "store-secret-" + random_id();
  std::filesystem::create_directories(root_ + "/store/acme");
  std::ofstream(root_ + "/store/acme/npm_token") << value << "\n";
  std::string sha;
  testing::run_command("printf %s '" + value + "' | sha256sum | cut -c1-64", &sha);
  sha.resize(64);
  const std::string file = dockerfile(
      "RUN --mount=type=secret,id=npm_token test \"$(sha256sum < /run/secrets/npm_token | cut "
      "-c1-64)\" = " +
      sha + " && echo store-secret-matches && cat /run/secrets/npm_token && echo\n");
  v1::BuildSpec spec;
  spec.add_store_secrets("npm_token");
  auto build_as = [&](const std::string& tenant) {
    const std::string id = random_id();
    std::string commit;
    const std::string repo = make_repo({{"Dockerfile", file}}, &commit);
    auto requested = testing::make_git_requested(id, repo, commit, "refs/heads/main", spec);
    requested.mutable_requested()->set_tenant(tenant);
    publish(requested);
    publish_dispatched(id, 1);
    return id;
  };
  const std::string acme = build_as("acme");
  const Outcome built = wait_outcome(acme);
  const std::string logs = read_logs(acme);
  EXPECT_EQ(built.type(), "built") << (built.last ? built.last->DebugString() : "") << logs;
  EXPECT_NE(logs.find("store-secret-matches"), std::string::npos) << logs;
  EXPECT_EQ(logs.find(value), std::string::npos) << logs;

  const std::string globex = build_as("globex");
  const Outcome refused = wait_outcome(globex);
  ASSERT_EQ(refused.type(), "failed");
  EXPECT_EQ(refused.last->failed().stage(), v1::FETCH);
  EXPECT_NE(refused.last->failed().reason().find("not in tenant globex's store"), std::string::npos)
      << refused.last->failed().reason();
}

TEST_F(BuilderTest, TimeoutFailsWithStageTimeout) {
  v1::BuildSpec spec;
  spec.set_timeout_seconds(3);
  const auto t0 = Clock::now();
  const std::string id = start_build({{"Dockerfile", dockerfile("RUN sleep 3600\n")}}, spec);
  const Outcome outcome = wait_outcome(id, std::chrono::seconds(60));
  ASSERT_EQ(outcome.type(), "failed");
  EXPECT_EQ(outcome.last->failed().stage(), v1::TIMEOUT);
  EXPECT_NE(outcome.last->failed().reason().find("timeout of 3 s"), std::string::npos);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(30));
  EXPECT_TRUE(processes_matching("sleep 3600").empty());
}

TEST_F(BuilderTest, CancelMidRunStopsEverythingWithinTwoSeconds) {
  v1::BuildSpec spec;
  spec.set_timeout_seconds(120);  // a safety net should the cancel not work
  const std::string id =
      start_build({{"Dockerfile", dockerfile("RUN echo sleeping-now && sleep 3601\n")}}, spec);
  // Wait until the RUN step's sleep is running.
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline && processes_matching("sleep 3601").empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(processes_matching("sleep 3601").empty()) << "the RUN step should be running";
  auto cancel = testing::make_cancel_requested(id);
  const auto t0 = Clock::now();
  publish(std::move(cancel));
  const Outcome outcome = wait_outcome(id, std::chrono::seconds(30));
  const auto elapsed = Clock::now() - t0;
  ASSERT_EQ(outcome.type(), "cancelled");
  EXPECT_EQ(outcome.last->cancelled().stage(), v1::BUILD);
  EXPECT_LT(elapsed, std::chrono::milliseconds(3000));  // 2 s bound plus publishing
  EXPECT_TRUE(processes_matching("sleep 3601").empty());
  // No buildah (nor anything it started) is left running on the storage.
  EXPECT_TRUE(processes_matching(options_->buildah_root + "/root").empty());
  for (const auto& entry : fs::directory_iterator(options_->work_dir)) {
    EXPECT_EQ(entry.path().filename().string().rfind(id, 0), std::string::npos)
        << "work dir left: " << entry.path();
  }
}

TEST_F(BuilderTest, CancelRequestedBeforeStartCancelsWithoutBuilding) {
  const std::string id = random_id();
  std::string commit;
  const std::string repo = make_repo({{"Dockerfile", dockerfile("RUN true\n")}}, &commit);
  publish_requested(id, repo, commit, "refs/heads/main", {});
  publish(testing::make_cancel_requested(id));
  publish_dispatched(id, 1);
  const Outcome outcome = wait_outcome(id);
  ASSERT_EQ(outcome.type(), "cancelled");
  EXPECT_EQ(outcome.count("started"), 0);
}

TEST_F(BuilderTest, FetchAndSyntaxFailuresNameTheStageAndGitsMessage) {
  struct Case {
    std::string name;
    std::string repo;
    std::string ref;
    std::map<std::string, std::string> files;
    v1::Stage stage;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"bad url",
       "file://" + root_ + "/no-such-repo",
       "main",
       {},
       v1::FETCH,
       "does not appear to be a git repository"},
      {"bad ref",
       "",
       "refs/heads/no-such-branch",
       {{"Dockerfile", dockerfile("")}},
       v1::FETCH,
       "couldn't find remote ref"},
      {"missing Dockerfile",
       "",
       "main",
       {{"README", "no dockerfile"}},
       v1::FETCH,
       "Dockerfile not found"},
      {"syntax error",
       "",
       "main",
       {{"Dockerfile", dockerfile("RUNN echo typo\n")}},
       v1::BUILD,
       "RUNN"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string id = random_id();
    // A scheduled build: no commit, the ref is resolved.
    const std::string repo = c.repo.empty() ? make_repo(c.files) : c.repo;
    publish_requested(id, repo, "", c.ref, {});
    publish_dispatched(id, 1);
    const Outcome outcome = wait_outcome(id);
    ASSERT_EQ(outcome.type(), "failed");
    EXPECT_EQ(outcome.last->failed().stage(), c.stage);
    EXPECT_NE(outcome.last->failed().reason().find(c.message), std::string::npos)
        << outcome.last->failed().reason();
    EXPECT_EQ(outcome.last->failed().reason().find('\n'), std::string::npos);
    EXPECT_NE(outcome.last->failed().exit_code(), 0);
    // The full output stays in the log stream.
    EXPECT_FALSE(read_logs(id).empty());
  }
}

TEST_F(BuilderTest, SecretIsUsableButNeverInLogsEventsOrImage) {
  const std::string id = start_build(
      {{"Dockerfile", dockerfile("RUN --mount=type=secret,id=tok cat /run/secrets/tok && echo\n"
                                 "RUN --mount=type=secret,id=tok sha256sum /run/secrets/tok\n")}});
  const Outcome outcome = wait_outcome(id);
  ASSERT_EQ(outcome.type(), "built") << (outcome.last ? outcome.last->DebugString() : "");
  const std::string logs = read_logs(id);
  // The build read the real value (its digest is printed), and the value itself is masked.
  EXPECT_NE(logs.find(sha256_hex(kSecretValue)), std::string::npos) << logs;
  EXPECT_NE(logs.find("***"), std::string::npos) << logs;
  EXPECT_EQ(logs.find(kSecretValue), std::string::npos);
  for (const auto& e : outcome.events) {
    EXPECT_EQ(e.SerializeAsString().find(kSecretValue), std::string::npos) << e.DebugString();
  }
  testing::StagedContent staged;
  ASSERT_NO_THROW(staged = testing::read_staged(outcome.last->built()));
  const std::string* config = &staged.config;
  // The instruction text is in the history; the value is not.
  EXPECT_NE(config->find("secret"), std::string::npos);
  EXPECT_EQ(config->find(kSecretValue), std::string::npos);
}

TEST_F(BuilderTest, SameDispatchDeliveredTwiceYieldsOneBuilt) {
  std::string commit;
  const std::string repo = make_repo({{"Dockerfile", dockerfile("RUN echo once\n")}}, &commit);
  const std::string id = random_id();
  publish_requested(id, repo, commit, "refs/heads/main", {});
  publish_dispatched(id, 1);
  publish_dispatched(id, 1, ":redelivered");  // a second message, as after a lost ack
  const Outcome outcome = wait_outcome(id);
  ASSERT_EQ(outcome.type(), "built");
  // A later build on the single slot proves both copies were handled before it.
  const std::string marker = start_build({{"Dockerfile", dockerfile("RUN true\n")}});
  ASSERT_EQ(wait_outcome(marker).type(), "built");
  const auto all = read_events(id);
  int built = 0;
  int started = 0;
  for (const auto& e : all) {
    built += e.type() == "built";
    started += e.type() == "started";
  }
  EXPECT_EQ(built, 1);
  EXPECT_EQ(started, 1);
}

TEST_F(BuilderTest, StaleAttemptIsFencedByALaterDispatch) {
  std::string commit;
  const std::string repo = make_repo({{"Dockerfile", dockerfile("RUN echo fenced\n")}}, &commit);
  const std::string id = random_id();
  publish_requested(id, repo, commit, "refs/heads/main", {});
  publish_dispatched(id, 2);
  publish_dispatched(id, 1);  // a late copy of the first dispatch
  const Outcome outcome = wait_outcome(id);
  ASSERT_EQ(outcome.type(), "built");
  EXPECT_EQ(outcome.last->built().attempt(), 2);
  const std::string marker = start_build({{"Dockerfile", dockerfile("RUN true\n")}});
  ASSERT_EQ(wait_outcome(marker).type(), "built");
  for (const auto& e : read_events(id)) {
    if (e.type() == "started") {
      EXPECT_EQ(e.started().attempt(), 2);
    }
  }
}

}  // namespace
}  // namespace kiln::builder
