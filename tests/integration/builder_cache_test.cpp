// The builder's layer cache against real parts (nats-server, docker-registry with kiln's busybox
// base image, buildah): bounded by cache.max-bytes, trimmed between builds, and what a fully
// cached rebuild's manifest says about the build that made it.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "builder/builder.h"
#include "bus/bus.h"
#include "common/ids.h"
#include "events/envelope.h"
#include "oci/digest.h"
#include "oci/layout.h"
#include "support/pipeline.h"
#include "support/servers.h"
#include "support/staged.h"

namespace kiln::builder {
namespace {

namespace v1 = events::v1;
using Clock = std::chrono::steady_clock;

class BuilderCacheTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    nats_ = std::make_unique<testing::NatsServer>();
    registry_ = std::make_unique<testing::RegistryServer>();
    root_ = testing::make_temp_dir("kiln-builder-cache-test");
    testing::push_base_image(registry_->host(), root_ + "/base");
    base_image_ = registry_->host() + "/kiln/busybox";
    bus_ = testing::connect_bus(nats_->url(), "cache-test");
  }

  static void TearDownTestSuite() {
    bus_.reset();
    registry_.reset();
    nats_.reset();
    testing::remove_tree(root_);
  }

  void TearDown() override { replica_.reset(); }

  // One builder replica on a storage of its own.
  void start_replica(std::int64_t cache_max_bytes) {
    BuilderOptions options;
    options.common.http.port = 0;
    const std::string dir = root_ + "/" + random_id();
    options.worker_id = "cache-test";
    options.buildah_root = dir + "/buildah";
    options.artifacts_dir = dir + "/artifacts";
    options.work_dir = dir + "/work";
    options.insecure_registries = {registry_->host()};
    options.staging.registry = registry_->host();
    options.heartbeat_seconds = 1;
    options.platform = "linux/amd64";
    options.cache_max_bytes = cache_max_bytes;
    replica_ = std::make_unique<Builder>(options, *bus_);
    ASSERT_NO_THROW(replica_->start());
  }

  // A build of `body` after FROM the base image, no context (an uploaded Dockerfile only);
  // waits for its outcome.
  v1::Envelope build(const std::string& body, std::string* build_id = nullptr) {
    const std::string id = random_id();
    if (build_id) *build_id = id;
    testing::publish(
        *bus_, testing::make_upload_requested(id, "cache", "FROM " + base_image_ + "\n" + body));
    testing::publish(*bus_, testing::make_dispatched(id, 1));
    return testing::wait_build_outcome(*bus_, id);
  }

  // Waits until the replica's eviction counter exceeds `above` (the trim runs after the ack).
  double wait_evictions_above(double above) {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    double evictions = 0;
    while (Clock::now() < deadline) {
      evictions = replica_->metrics().value("kiln_builder_cache_evictions_total");
      if (evictions > above) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return evictions;
  }

  static std::string manifest_of(const v1::ImageBuilt& built) {
    try {
      return testing::read_staged(built).manifest.raw;
    } catch (const std::exception&) {
      return "";
    }
  }

  static inline std::unique_ptr<testing::NatsServer> nats_;
  static inline std::unique_ptr<testing::RegistryServer> registry_;
  static inline std::string root_;
  static inline std::string base_image_;
  static inline std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<Builder> replica_;
};

TEST_F(BuilderCacheTest, TinyBoundTrimsTheCacheAfterEachBuildAndBuildsStillWork) {
  start_replica(/*cache_max_bytes=*/1);
  // Random bytes: the image holds at least this much, compressed or not.
  const std::string first_body = "RUN head -c 3000000 /dev/urandom > /first.bin\n";
  const auto first = build(first_body);
  ASSERT_TRUE(first.has_built()) << first.DebugString();
  const double after_first = wait_evictions_above(0);
  EXPECT_GT(after_first, 0);
  // The storage held the image's layers before the trim; afterwards it holds less.
  EXPECT_LT(replica_->metrics().value("kiln_builder_cache_bytes"),
            static_cast<double>(first.built().image_size()));
  EXPECT_EQ(replica_->metrics().value("kiln_builder_cache_max_bytes"), 1);

  const auto second = build("RUN head -c 2000000 /dev/urandom > /second.bin\n");
  ASSERT_TRUE(second.has_built()) << second.DebugString();
  EXPECT_GT(wait_evictions_above(after_first), after_first);
  EXPECT_LT(replica_->metrics().value("kiln_builder_cache_bytes"),
            static_cast<double>(second.built().image_size()));

  // The first Dockerfile again: it still builds (the base image is pulled again), and nothing
  // came from the cache, which shows the trim really removed its layers.
  const auto again = build(first_body);
  ASSERT_TRUE(again.has_built()) << again.DebugString();
  EXPECT_EQ(again.built().steps_cached(), 0);
  EXPECT_EQ(replica_->metrics().value("kiln_builder_cache_trim_errors_total"), 0);
}

TEST_F(BuilderCacheTest, GenerousBoundKeepsTheCache) {
  start_replica(/*cache_max_bytes=*/10LL << 30);
  const std::string body = "RUN echo kept > /kept\n";
  ASSERT_TRUE(build(body).has_built());
  const auto again = build(body);
  ASSERT_TRUE(again.has_built()) << again.DebugString();
  EXPECT_GE(again.built().steps_cached(), again.built().steps_total() - 1);  // all but FROM
  EXPECT_EQ(replica_->metrics().value("kiln_builder_cache_evictions_total"), 0);
}

// The manifest of a fully cached rebuild must name the rebuild, not the build that first made
// the layers: the pusher pushes it and the registry shows these annotations.
TEST_F(BuilderCacheTest, FullyCachedRebuildCarriesItsOwnBuildAnnotations) {
  start_replica(/*cache_max_bytes=*/10LL << 30);
  const std::string body = "RUN echo annotated > /annotated\n";
  std::string first_id, second_id;
  const auto first = build(body, &first_id);
  ASSERT_TRUE(first.has_built()) << first.DebugString();
  EXPECT_NE(manifest_of(first.built()).find(first_id), std::string::npos)
      << manifest_of(first.built());
  const auto second = build(body, &second_id);
  ASSERT_TRUE(second.has_built()) << second.DebugString();
  ASSERT_GE(second.built().steps_cached(), second.built().steps_total() - 1);
  const std::string manifest = manifest_of(second.built());
  EXPECT_NE(manifest.find("\"io.kiln.build-id\":\"" + second_id + "\""), std::string::npos)
      << manifest;
  EXPECT_EQ(manifest.find(first_id), std::string::npos) << manifest;
  // The rewritten manifest is what `built` and index.json name.
  EXPECT_EQ(oci::sha256_digest(manifest), second.built().manifest_digest());
  EXPECT_NE(second.built().manifest_digest(), first.built().manifest_digest());
}

}  // namespace
}  // namespace kiln::builder
