// The pusher against real parts: nats-server, docker-registry (with and without htpasswd auth)
// and an image built by buildah, staged in a registry per build the way the builder stages it.
// Builds are driven the way the builder drives them (requested + built events); outcomes are
// read back from the event log and the registries.
#include "pusher/pusher.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bus/bus.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "events/envelope.h"
#include "events/subjects.h"
#include "oci/layout.h"
#include "registry/client.h"
#include "registry/credentials.h"
#include "registry/push.h"
#include "registry/staging.h"
#include "support/pipeline.h"
#include "support/process.h"
#include "support/servers.h"

namespace kiln::pusher {
namespace {

namespace fs = std::filesystem;
namespace v1 = events::v1;
using Clock = std::chrono::steady_clock;
using std::chrono::seconds;
using testing::must_run;
using testing::sh_quote;

void write_random_file(const std::string& path, std::size_t size) {
  must_run("head -c " + std::to_string(size) + " /dev/urandom > " + sh_quote(path));
}

// A TCP port that accepts connections (the kernel completes them from the backlog) and never
// answers: a registry that hangs, so a push is still running when the test acts on it.
class SilentPort {
 public:
  SilentPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot open a silent port");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~SilentPort() { ::close(fd_); }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class PusherTest : public ::testing::Test {
 protected:
  // One real layout (two layers) made with buildah; each build stages it with a manifest of its
  // own.
  static void SetUpTestSuite() {
    suite_dir_ = testing::make_temp_dir("kiln-pusher-suite");
    const std::string& dir = suite_dir_;
    const std::string b = "buildah --root " + sh_quote(dir + "/root") + " --runroot " +
                          sh_quote(dir + "/run") + " --storage-driver vfs ";
    write_random_file(dir + "/a.bin", 300 << 10);
    write_random_file(dir + "/b.bin", 200 << 10);
    std::string c = must_run(b + "from scratch");
    c = c.substr(0, c.find_first_of("\r\n"));
    must_run(b + "copy " + c + " " + sh_quote(dir + "/a.bin") + " /a.bin");
    must_run(b + "commit -q " + c + " kiln-pusher-test-1");
    c = must_run(b + "from kiln-pusher-test-1");
    c = c.substr(0, c.find_first_of("\r\n"));
    must_run(b + "copy " + c + " " + sh_quote(dir + "/b.bin") + " /data/b.bin");
    must_run(b + "commit -q " + c + " kiln-pusher-test-2");
    must_run(b + "push -q kiln-pusher-test-2 oci:" + dir + "/layout:latest");
    auto layout = oci::ImageLayout::open(dir + "/layout");
    if (!layout.ok()) throw std::runtime_error(layout.error().describe());
    auto top = layout->find("latest");
    if (!top.ok()) throw std::runtime_error(top.error().describe());
    auto manifest = layout->read_manifest(*top);
    if (!manifest.ok()) throw std::runtime_error(manifest.error().describe());
    manifest_digest_ = top->digest;
    layer_digest_ = manifest->layers.at(0).digest;
  }

  static void TearDownTestSuite() { testing::remove_tree(suite_dir_); }

  void SetUp() override {
    dir_ = testing::make_temp_dir("kiln-pusher-test");
    auto connected = bus::Bus::connect(bus::BusOptions{.url = nats_.url(), .name = "pusher-test"});
    ASSERT_TRUE(connected.ok()) << connected.error().describe();
    bus_ = std::move(connected.value());
    ASSERT_TRUE(bus::provision(*bus_).ok());
    options_.common.http.port = 0;
    options_.worker_id = "pusher/test";
    options_.staging.registry = registry_.host();
    options_.registries.insecure_hosts = {registry_.host()};
    // Anonymous unless a test writes it.
    options_.registries.docker_config = dir_ + "/no-docker-config.json";
    options_.heartbeat_seconds = 1;
  }

  void TearDown() override {
    pusher_.reset();
    bus_.reset();
    testing::remove_tree(dir_);
  }

  // A pusher as kiln-pusher runs it, with the options as the test left them.
  void start_worker() {
    pusher_.reset();
    pusher_ = std::make_unique<Pusher>(options_, *bus_);
    ASSERT_NO_THROW(pusher_->start());
  }

  // Stops it like SIGTERM does; its metrics stay readable until the next start.
  void stop_worker() {
    if (pusher_) pusher_->stop();
  }

  // The suite's image staged for build `id` as the builder stages it: blobs and a manifest of
  // the build's own (the builder's manifests name their build) under a staging tag, made
  // `age_seconds` ago.
  struct Staged {
    v1::StagedImage image;
    std::string digest;
  };
  Staged stage_image(const std::string& id, const testing::RegistryServer* on = nullptr,
                     std::int64_t age_seconds = 0) {
    const testing::RegistryServer& staging = on != nullptr ? *on : registry_;
    auto client = client_for(staging);
    registry::PushRequest push;
    push.layout_dir = suite_dir_ + "/layout";
    push.ref_name = "latest";
    push.repository = "kiln-staging";
    auto pushed = registry::push_layout(client, push);
    if (!pushed.ok()) throw std::runtime_error(pushed.error().describe());
    auto layout = oci::ImageLayout::open(suite_dir_ + "/layout");
    auto manifest = layout->read_manifest(*layout->find("latest"));
    std::string raw = manifest->raw;
    raw.insert(1, "\"io.kiln.test.build\":\"" + id + "\",");
    Staged out;
    out.image.set_registry(staging.host());
    out.image.set_repository("kiln-staging");
    out.image.set_tag(registry::staging_tag(id, 1, now_ms() / 1000 - age_seconds, "0a1b2c3d"));
    auto digest = client.put_manifest("kiln-staging", out.image.tag(), manifest->media_type, raw);
    if (!digest.ok()) throw std::runtime_error(digest.error().describe());
    out.digest = *digest;
    return out;
  }

  // Whether the staged image is still in its registry.
  bool still_staged(const Staged& staged, const testing::RegistryServer* on = nullptr) {
    auto client = client_for(on != nullptr ? *on : registry_);
    auto fetched = client.get_manifest("kiln-staging", staged.image.tag());
    if (fetched.ok()) return true;
    EXPECT_EQ(fetched.error().code, ErrorCode::kNotFound) << fetched.error().describe();
    return false;
  }

  void publish(v1::Envelope envelope, const std::string& msg_id_suffix = {}) {
    testing::publish(*bus_, std::move(envelope), msg_id_suffix);
  }

  v1::BuildSpec spec(const std::string& registry, const std::string& repository,
                     std::vector<std::string> tags = {}) {
    v1::BuildSpec s;
    s.set_registry(registry);
    s.set_image_repository(repository);
    for (auto& t : tags) s.add_tags(t);
    return s;
  }

  void publish_requested(const std::string& id, const v1::BuildSpec& s) {
    publish(testing::make_requested(id, s));
  }

  void publish_built(const std::string& id, const Staged& staged,
                     const std::string& msg_id_suffix = {}) {
    publish(testing::make_built(id, staged.image, staged.digest), msg_id_suffix);
  }

  void publish_cancel_requested(const std::string& id) {
    publish(testing::make_cancel_requested(id));
  }

  // Every stored event of `type` for the build.
  std::vector<v1::Envelope> events_of(const std::string& id, const std::string& type) {
    return testing::read_events(*bus_, events::build_subject(type, id));
  }

  // The first terminal event (succeeded, failed, cancelled) within `timeout`.
  std::optional<v1::Envelope> wait_outcome(const std::string& id, seconds timeout = seconds(60)) {
    return testing::wait_for_event(*bus_, id, testing::kPushOutcomes, timeout,
                                   std::chrono::milliseconds(50));
  }

  bool wait_running(int n, seconds timeout = seconds(20)) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (pusher_->running().size() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  registry::RegistryClient client_for(const testing::RegistryServer& server,
                                      registry::Credentials credentials = {}) {
    registry::RegistryOptions o;
    o.host = server.host();
    o.insecure = true;
    o.credentials = std::move(credentials);
    return registry::RegistryClient(o);
  }

  double outcomes(const std::string& outcome) {
    return pusher_->metrics().value("kiln_pusher_pushes_total", {{"outcome", outcome}});
  }

  testing::NatsServer nats_;
  testing::RegistryServer registry_;
  std::string dir_;
  std::unique_ptr<bus::Bus> bus_;
  PusherOptions options_;
  std::unique_ptr<Pusher> pusher_;

  static inline std::string suite_dir_;
  static inline std::string manifest_digest_;
  static inline std::string layer_digest_;
};

// On the staging registry itself a promotion moves no bytes: every blob is mounted.
TEST_F(PusherTest, PromotesEveryTagByMountThenPublishesPushedAndSucceededAndUnstages) {
  start_worker();
  const std::string id = random_id();
  const Staged staged = stage_image(id);
  const std::string digest = staged.digest;
  publish_requested(id, spec(registry_.host(), "team/app", {"v1", "latest"}));
  publish_built(id, staged);

  auto outcome = wait_outcome(id);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_TRUE(outcome->has_succeeded()) << outcome->DebugString();
  const std::string repo_url = registry_.host() + "/team/app";
  EXPECT_EQ(outcome->succeeded().digest(), digest);
  EXPECT_EQ(outcome->succeeded().image_url(), repo_url + "@" + digest);
  EXPECT_GE(outcome->succeeded().total_duration_ms(), 0);
  EXPECT_EQ(outcome->attempt(), 1);

  auto pushed = events_of(id, "pushed");
  ASSERT_EQ(pushed.size(), 1u);
  const auto& p = pushed[0].pushed();
  EXPECT_EQ(p.digest(), digest);
  EXPECT_EQ(p.repository_url(), repo_url);
  ASSERT_EQ(p.images_size(), 2);
  EXPECT_EQ(p.images(0).tag(), "v1");
  EXPECT_EQ(p.images(0).url(), repo_url + ":v1");
  EXPECT_EQ(p.images(1).url(), repo_url + ":latest");
  EXPECT_EQ(p.bytes_uploaded(), 0);
  EXPECT_GT(p.bytes_skipped(), 500 << 10);  // both layers and the config, mounted

  // The registry serves the manifest by digest and under each tag.
  auto client = client_for(registry_);
  auto by_digest = client.get_manifest("team/app", digest);
  ASSERT_TRUE(by_digest.ok()) << by_digest.error().describe();
  EXPECT_EQ(by_digest->digest, digest);
  auto by_tag = client.get_manifest("team/app", "v1");
  ASSERT_TRUE(by_tag.ok()) << by_tag.error().describe();
  EXPECT_EQ(by_tag->digest, digest);

  EXPECT_FALSE(still_staged(staged)) << "the staged image is deleted once the build succeeded";
  EXPECT_EQ(outcomes("succeeded"), 1);
  EXPECT_GT(pusher_->metrics().value("kiln_pusher_bytes_skipped_total"), 500 << 10);
}

// Another registry: the blobs stream from the staging registry in chunks (64 KiB here, so a
// 300 KiB layer takes several), digest-checked on the way.
TEST_F(PusherTest, PromotesToAnotherRegistryByStreamingInChunks) {
  testing::RegistryServer target;
  options_.registries.insecure_hosts.push_back(target.host());
  options_.registries.client.chunk_size = 64 << 10;
  start_worker();
  const std::string id = random_id();
  const Staged staged = stage_image(id);
  publish_requested(id, spec(target.host(), "team/elsewhere", {"v2"}));
  publish_built(id, staged);

  auto outcome = wait_outcome(id);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_TRUE(outcome->has_succeeded()) << outcome->DebugString();
  EXPECT_EQ(outcome->succeeded().digest(), staged.digest);
  auto pushed = events_of(id, "pushed");
  ASSERT_EQ(pushed.size(), 1u);
  EXPECT_GT(pushed[0].pushed().bytes_uploaded(), 500 << 10);
  auto client = client_for(target);
  auto manifest = client.get_manifest("team/elsewhere", "v2");
  ASSERT_TRUE(manifest.ok()) << manifest.error().describe();
  EXPECT_EQ(manifest->digest, staged.digest);
  auto layer = client.get_blob("team/elsewhere", layer_digest_);  // digest-checked
  ASSERT_TRUE(layer.ok()) << layer.error().describe();
  EXPECT_FALSE(still_staged(staged));
}

// What nobody promotes (a build cancelled after `built`, a lost attempt) is deleted by age.
TEST_F(PusherTest, SweepDeletesStagedImagesOlderThanTheMaxAge) {
  const Staged old = stage_image(random_id(), nullptr, 25 * 3600);
  const Staged fresh = stage_image(random_id(), nullptr, 3600);
  ASSERT_TRUE(still_staged(old));
  start_worker();  // sweeps at start
  const auto deadline = Clock::now() + seconds(20);
  while (still_staged(old) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_FALSE(still_staged(old)) << "a staged image 25 h old was not swept";
  EXPECT_TRUE(still_staged(fresh)) << "a staged image 1 h old was swept";
  EXPECT_EQ(pusher_->metrics().value("kiln_pusher_staged_swept_total"), 1);
}

TEST_F(PusherTest, SameBuiltDeliveredTwiceGivesOnePushedAndOneSucceeded) {
  options_.slots = 2;  // both copies may be taken at once
  start_worker();
  const std::string id = random_id();
  const Staged staged = stage_image(id);
  publish_requested(id, spec(registry_.host(), "team/twice"));
  publish_built(id, staged);
  publish_built(id, staged, ":copy");  // a second message with the same payload

  auto outcome = wait_outcome(id);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_TRUE(outcome->has_succeeded()) << outcome->DebugString();
  // Let the second delivery settle too, then count.
  const auto deadline = Clock::now() + seconds(20);
  while (outcomes("succeeded") + outcomes("skipped") < 2 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(outcomes("succeeded") + outcomes("skipped"), 2);
  EXPECT_EQ(events_of(id, "pushed").size(), 1u);
  EXPECT_EQ(events_of(id, "succeeded").size(), 1u);
  EXPECT_TRUE(events_of(id, "failed").empty());
  ASSERT_EQ(events_of(id, "pushed")[0].pushed().images(0).tag(), "latest");  // default tag
}

TEST_F(PusherTest, RepushAfterAnInterruptedPushSkipsBlobsAlreadyUploaded) {
  // What a pusher killed mid-push leaves: every blob in the registry, no manifest, no event.
  auto layout_dir = suite_dir_ + "/layout";
  auto layout = oci::ImageLayout::open(layout_dir);
  ASSERT_TRUE(layout.ok());
  auto manifest = layout->read_manifest(*layout->find("latest"));
  ASSERT_TRUE(manifest.ok());
  auto client = client_for(registry_);
  std::int64_t blob_bytes = 0;
  for (const auto& blob : manifest->blobs()) {
    auto up = client.upload_blob("team/resumed",
                                 {layout->blob_path(blob.digest), blob.digest, blob.size});
    ASSERT_TRUE(up.ok()) << up.error().describe();
    blob_bytes += blob.size;
  }

  start_worker();
  const std::string id = random_id();
  publish_requested(id, spec(registry_.host(), "team/resumed"));
  publish_built(id, stage_image(id));
  auto outcome = wait_outcome(id);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_TRUE(outcome->has_succeeded()) << outcome->DebugString();
  auto pushed = events_of(id, "pushed");
  ASSERT_EQ(pushed.size(), 1u);
  EXPECT_EQ(pushed[0].pushed().bytes_uploaded(), 0);
  EXPECT_EQ(pushed[0].pushed().bytes_skipped(), blob_bytes);
}

TEST_F(PusherTest, PushedWithoutSucceededIsFinishedWithoutPushingAgain) {
  start_worker();
  const std::string id = random_id();
  const Staged staged = stage_image(id);
  const std::string digest = staged.digest;
  publish_requested(id, spec(registry_.host(), "team/finish"));
  // A pusher stored `pushed` and died before `succeeded`.
  auto envelope = events::new_envelope(id, "pusher/dead", 1);
  envelope.mutable_pushed()->set_digest(digest);
  envelope.mutable_pushed()->set_repository_url(registry_.host() + "/team/finish");
  publish(envelope);
  publish_built(id, staged);

  auto outcome = wait_outcome(id);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_TRUE(outcome->has_succeeded()) << outcome->DebugString();
  EXPECT_EQ(outcome->succeeded().image_url(), registry_.host() + "/team/finish@" + digest);
  EXPECT_EQ(events_of(id, "pushed").size(), 1u);
  // Nothing was pushed by this pusher: the registry does not know the manifest.
  auto client = client_for(registry_);
  auto fetched = client.get_manifest("team/finish", digest);
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, ErrorCode::kNotFound) << fetched.error().describe();
  EXPECT_EQ(fetched.error().peer_code, "MANIFEST_UNKNOWN");
  EXPECT_FALSE(still_staged(staged));
}

TEST_F(PusherTest, CancelRequestedBeforePickupCancelsWithoutPushing) {
  const std::string id = random_id();
  const Staged staged = stage_image(id);
  publish_requested(id, spec(registry_.host(), "team/cancelled"));
  publish_cancel_requested(id);
  publish_built(id, staged);
  start_worker();

  auto outcome = wait_outcome(id);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_TRUE(outcome->has_cancelled()) << outcome->DebugString();
  EXPECT_EQ(outcome->cancelled().stage(), v1::PUSH);
  EXPECT_TRUE(events_of(id, "pushed").empty());
  auto client = client_for(registry_);
  auto blob = client.blob_exists("team/cancelled", layer_digest_);
  ASSERT_TRUE(blob.ok()) << blob.error().describe();
  EXPECT_FALSE(blob->exists) << "no blob was uploaded";
  EXPECT_FALSE(still_staged(staged));
}

TEST_F(PusherTest, CancelDuringPushStopsItAndPublishesCancelled) {
  SilentPort hung;  // the push hangs on its first request
  options_.registries.insecure_hosts.push_back(hung.host());
  start_worker();
  const std::string id = random_id();
  publish_requested(id, spec(hung.host(), "team/hung"));
  publish_built(id, stage_image(id));
  ASSERT_TRUE(wait_running(1)) << "the push did not start";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // inside the request
  publish_cancel_requested(id);

  auto outcome = wait_outcome(id, seconds(15));
  ASSERT_TRUE(outcome.has_value()) << "the push was not stopped within 15 s";
  ASSERT_TRUE(outcome->has_cancelled()) << outcome->DebugString();
  EXPECT_EQ(outcome->cancelled().stage(), v1::PUSH);
  EXPECT_TRUE(events_of(id, "pushed").empty());
  EXPECT_EQ(outcomes("cancelled"), 1);
}

TEST_F(PusherTest, ShutdownHandsARunningPushBackToAnotherReplica) {
  SilentPort hung;
  options_.registries.insecure_hosts.push_back(hung.host());
  start_worker();
  const std::string id = random_id();
  publish_requested(id, spec(hung.host(), "team/handback"));
  publish_built(id, stage_image(id));
  ASSERT_TRUE(wait_running(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  const auto stop_began = Clock::now();
  stop_worker();
  EXPECT_LT(Clock::now() - stop_began, seconds(10)) << "stop must not wait for the hung push";
  EXPECT_FALSE(wait_outcome(id, seconds(1)).has_value()) << "a hand-back is not an outcome";
  EXPECT_EQ(outcomes("handed_back"), 1);

  // The naked message goes to the next replica at once (not after AckWait).
  start_worker();
  ASSERT_TRUE(wait_running(1, seconds(10))) << "the message was not redelivered";
  publish_cancel_requested(id);
  auto outcome = wait_outcome(id, seconds(15));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(outcome->has_cancelled()) << outcome->DebugString();
}

// A blob rotten in the staging registry's storage: streamed to another registry, the digest
// check on the way catches it.
TEST_F(PusherTest, CorruptedStagedLayerFailsThePushWithoutPushedEvent) {
  testing::RegistryServer target;
  options_.registries.insecure_hosts.push_back(target.host());
  start_worker();
  const std::string id = random_id();
  const Staged staged = stage_image(id);
  const std::string digest = staged.digest;
  // Same size, different bytes: only a digest check can tell.
  const std::string blob = registry_.blob_path(layer_digest_);
  const auto size = fs::file_size(blob);
  fs::remove(blob);
  write_random_file(blob, size);
  publish_requested(id, spec(target.host(), "team/corrupt"));
  publish_built(id, staged);

  auto outcome = wait_outcome(id);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_TRUE(outcome->has_failed()) << outcome->DebugString();
  EXPECT_EQ(outcome->failed().stage(), v1::PUSH);
  EXPECT_FALSE(outcome->failed().retryable());
  const std::string& reason = outcome->failed().reason();
  EXPECT_TRUE(reason.find("DIGEST_INVALID") != std::string::npos ||
              reason.find("DATA_LOSS") != std::string::npos)
      << reason;
  EXPECT_NE(reason.find(layer_digest_), std::string::npos) << reason;
  EXPECT_TRUE(events_of(id, "pushed").empty());
  EXPECT_FALSE(still_staged(staged)) << "a failed build's staged image is deleted too";
  EXPECT_EQ(outcomes("failed"), 1);
  auto client = client_for(target);
  auto manifest = client.get_manifest("team/corrupt", digest);
  ASSERT_FALSE(manifest.ok());
  EXPECT_EQ(manifest.error().code, ErrorCode::kNotFound) << manifest.error().describe();
  EXPECT_EQ(manifest.error().peer_code, "MANIFEST_UNKNOWN");
}

TEST_F(PusherTest, WrongPasswordFailsWithTheRegistrysRefusal) {
  testing::RegistryServer secured("alice", "correct-horse");
  options_.registries.insecure_hosts.push_back(secured.host());
  std::ofstream(options_.registries.docker_config)
      << R"({"auths":{")" << secured.host() << R"(":{"auth":")"
      << registry::base64_encode("alice:wrong-password") << R"("}}})";
  start_worker();
  const std::string id = random_id();
  publish_requested(id, spec(secured.host(), "team/secured"));
  publish_built(id, stage_image(id));

  auto outcome = wait_outcome(id);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_TRUE(outcome->has_failed()) << outcome->DebugString();
  EXPECT_EQ(outcome->failed().stage(), v1::PUSH);
  EXPECT_FALSE(outcome->failed().retryable());
  const std::string& reason = outcome->failed().reason();
  EXPECT_TRUE(reason.find("UNAUTHORIZED") != std::string::npos ||
              reason.find("DENIED") != std::string::npos)
      << reason;
  EXPECT_EQ(reason.find("wrong-password"), std::string::npos) << "no password in events";
  EXPECT_TRUE(events_of(id, "pushed").empty());
}

TEST_F(PusherTest, RightPasswordFromDockerConfigPushes) {
  testing::RegistryServer secured("alice", "correct-horse");
  options_.registries.insecure_hosts.push_back(secured.host());
  std::ofstream(options_.registries.docker_config)
      << R"({"auths":{")" << secured.host() << R"(":{"auth":")"
      << registry::base64_encode("alice:correct-horse") << R"("}}})";
  start_worker();
  const std::string id = random_id();
  publish_requested(id, spec(secured.host(), "team/secured"));
  const Staged staged = stage_image(id);
  publish_built(id, staged);

  auto outcome = wait_outcome(id);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_TRUE(outcome->has_succeeded()) << outcome->DebugString();
  auto client = client_for(secured, {"alice", "correct-horse"});
  EXPECT_TRUE(client.get_manifest("team/secured", staged.digest).ok());
}

// A tenant's own credentials (<secrets.dir>/<tenant>/docker-config.json) push its images; another
// tenant, with only the pusher's (empty) credentials, is refused by the same registry.
TEST_F(PusherTest, TenantCredentialsFromTheStorePushThatTenantsImagesOnly) {
  testing::RegistryServer secured("alice", "correct-horse");
  options_.registries.insecure_hosts.push_back(secured.host());
  options_.secrets_dir = dir_ + "/store";
  std::filesystem::create_directories(options_.secrets_dir + "/acme");
  std::ofstream(options_.secrets_dir + "/acme/docker-config.json")
      << R"({"auths":{")" << secured.host() << R"(":{"auth":")"
      << registry::base64_encode("alice:correct-horse") << R"("}}})";
  start_worker();
  auto push_as = [&](const std::string& tenant, Staged* staged) {
    const std::string id = random_id();
    auto requested = testing::make_requested(id, spec(secured.host(), tenant + "/app"));
    requested.mutable_requested()->set_tenant(tenant);
    publish(requested);
    *staged = stage_image(id);
    publish_built(id, *staged);
    return wait_outcome(id);
  };
  Staged acme_image;
  auto acme = push_as("acme", &acme_image);
  ASSERT_TRUE(acme.has_value());
  ASSERT_TRUE(acme->has_succeeded()) << acme->DebugString();
  auto client = client_for(secured, {"alice", "correct-horse"});
  EXPECT_TRUE(client.get_manifest("acme/app", acme_image.digest).ok());

  Staged globex_image;
  auto globex = push_as("globex", &globex_image);
  ASSERT_TRUE(globex.has_value());
  ASSERT_TRUE(globex->has_failed()) << globex->DebugString();
  EXPECT_EQ(globex->failed().stage(), v1::PUSH);
}

TEST_F(PusherTest, SpecWithoutRegistryFailsWithoutRetry) {
  start_worker();
  const std::string id = random_id();
  publish_requested(id, spec("", "team/app"));
  publish_built(id, stage_image(id));
  auto outcome = wait_outcome(id);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_TRUE(outcome->has_failed()) << outcome->DebugString();
  EXPECT_EQ(outcome->failed().stage(), v1::PUSH);
  EXPECT_FALSE(outcome->failed().retryable());
  EXPECT_NE(outcome->failed().reason().find("spec.registry"), std::string::npos);
}

// Promoting into the staging repository itself would have the cleanup delete the image.
TEST_F(PusherTest, TargetThatIsTheStagingRepositoryFailsAndKeepsNothingHalfDone) {
  start_worker();
  const std::string id = random_id();
  const Staged staged = stage_image(id);
  publish_requested(id, spec(registry_.host(), "kiln-staging", {"v1"}));
  publish_built(id, staged);
  auto outcome = wait_outcome(id);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_TRUE(outcome->has_failed()) << outcome->DebugString();
  EXPECT_FALSE(outcome->failed().retryable());
  EXPECT_NE(outcome->failed().reason().find("is the staging repository"), std::string::npos)
      << outcome->failed().reason();
  EXPECT_TRUE(events_of(id, "pushed").empty());
  auto client = client_for(registry_);
  auto tagged = client.get_manifest("kiln-staging", "v1");
  ASSERT_FALSE(tagged.ok());
  EXPECT_EQ(tagged.error().code, ErrorCode::kNotFound);
}

// A `built` of a kiln before the staging registry names a directory on its builder's disk.
TEST_F(PusherTest, BuiltWithALocalLayoutOnlyFailsWithAClearReason) {
  start_worker();
  const std::string id = random_id();
  publish_requested(id, spec(registry_.host(), "team/old"));
  auto envelope = testing::make_built(id, v1::StagedImage{}, manifest_digest_);
  envelope.mutable_built()->set_artifact_location(dir_ + "/artifacts/" + id);
  publish(envelope);
  auto outcome = wait_outcome(id);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_TRUE(outcome->has_failed()) << outcome->DebugString();
  EXPECT_FALSE(outcome->failed().retryable());
  EXPECT_NE(outcome->failed().reason().find("build it again"), std::string::npos)
      << outcome->failed().reason();
}

TEST_F(PusherTest, KeepsWorkingAcrossANatsRestart) {
  start_worker();
  nats_.stop();
  std::this_thread::sleep_for(seconds(2));  // fetches fail meanwhile
  nats_.restart();
  const std::string id = random_id();
  const Staged staged = stage_image(id);
  const auto deadline = Clock::now() + seconds(20);
  while (!bus_->connected() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  publish_requested(id, spec(registry_.host(), "team/restart"));
  publish_built(id, staged);
  auto outcome = wait_outcome(id, seconds(60));
  ASSERT_TRUE(outcome.has_value()) << "no outcome after NATS came back";
  EXPECT_TRUE(outcome->has_succeeded()) << outcome->DebugString();
}

TEST_F(PusherTest, UndecodableMessageIsTerminated) {
  start_worker();
  ASSERT_TRUE(
      bus_->publish(events::build_subject("built", "junk"), "not protobuf \xff\xff", "junk-1")
          .ok());
  const auto deadline = Clock::now() + seconds(10);
  while (outcomes("undecodable") < 1 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(outcomes("undecodable"), 1);
}

// The binary: --help, /readyz and /metrics, SIGTERM exits 0.
TEST_F(PusherTest, ServiceBinaryServesHealthAndStopsCleanlyOnSigterm) {
  const std::string binary = std::string(KILN_BINARY_DIR) + "/services/pusher/kiln-pusher";
  std::string help;
  ASSERT_EQ(testing::run_command(binary + " --help", &help), 0);
  for (const char* option : {"push.slots", "staging.registry", "registry.insecure",
                             "registry.docker-config", "registry.parallelism", "worker.id"}) {
    EXPECT_NE(help.find(option), std::string::npos) << option;
  }
  testing::ServiceProcess service("pusher", binary, testing::free_port(),
                                  {{"KILN_NATS_URL", nats_.url()},
                                   {"KILN_STAGING_REGISTRY", registry_.host()},
                                   {"KILN_REGISTRY_INSECURE", registry_.host()}});
  ASSERT_TRUE(service.wait_ready()) << service.log();
  std::string metrics;
  ASSERT_EQ(testing::run_command("curl -sf " + service.url() + "/metrics", &metrics), 0);
  EXPECT_NE(metrics.find("kiln_pusher_slots 2"), std::string::npos) << metrics;

  const std::string id = random_id();
  publish_requested(id, spec(registry_.host(), "team/binary"));
  publish_built(id, stage_image(id));
  auto outcome = wait_outcome(id);
  ASSERT_TRUE(outcome.has_value()) << service.log();
  EXPECT_TRUE(outcome->has_succeeded()) << outcome->DebugString() << service.log();
  EXPECT_EQ(service.stop(), 0) << service.log();
}

}  // namespace
}  // namespace kiln::pusher
