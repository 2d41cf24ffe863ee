// The builder's layer cache against real parts (nats-server, docker-registry with kiln's busybox
// base image, buildah): bounded by cache.max-bytes, trimmed between builds, what a fully cached
// rebuild's manifest says about the build that made it, and the cache shared through the
// registry between builders that share no storage.
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
#include "registry/clients.h"
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

  void TearDown() override {
    replica_.reset();
    other_.reset();
  }

  // One builder replica on a storage of its own, the shared cache off (what this storage does
  // alone is what the first tests look at).
  void start_replica(std::int64_t cache_max_bytes) {
    SharedCacheOptions shared;
    shared.enabled = false;
    replica_ = make_replica(cache_max_bytes, shared);
  }

  static std::unique_ptr<Builder> make_replica(std::int64_t cache_max_bytes,
                                               const SharedCacheOptions& shared) {
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
    options.shared_cache = shared;
    auto replica = std::make_unique<Builder>(options, *bus_);
    replica->start();
    return replica;
  }

  // A build of `body` after FROM the base image, no context (an uploaded Dockerfile only);
  // waits for its outcome.
  v1::Envelope build(const std::string& body, std::string* build_id = nullptr) {
    return build_dockerfile("cache", "FROM " + base_image_ + "\n" + body, build_id);
  }

  v1::Envelope build_dockerfile(const std::string& project, const std::string& dockerfile,
                                std::string* build_id = nullptr) {
    const std::string id = random_id();
    if (build_id) *build_id = id;
    testing::publish(*bus_, testing::make_upload_requested(id, project, dockerfile));
    testing::publish(*bus_, testing::make_dispatched(id, 1));
    return testing::wait_build_outcome(*bus_, id);
  }

  // Waits until `metric` of `replica` reaches `at_least` (the shared cache is published after
  // the ack); returns its value.
  static double wait_metric(Builder& replica, const std::string& metric, double at_least) {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    double value = 0;
    while (Clock::now() < deadline) {
      value = replica.metrics().value(metric);
      if (value >= at_least) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return value;
  }

  static std::vector<std::string> cache_tags(const std::string& project) {
    registry::RegistryClients clients(registry::with_insecure_hosts({registry_->host()}));
    auto client = clients.get(registry_->host());
    if (!client.ok()) throw std::runtime_error(client.error().describe());
    auto tags = (*client)->list_tags(cache_repository("kiln-cache", project));
    if (!tags.ok()) throw std::runtime_error(tags.error().describe());
    return *tags;
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
  std::unique_ptr<Builder> other_;
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

// Two builders that share no storage: the second builds a project it never saw from the
// first's step images, every stage of a multi-stage build included, and the same layers come out.
TEST_F(BuilderCacheTest, SecondBuilderHitsTheCacheOfTheFirstBuildersBuilds) {
  const SharedCacheOptions shared;  // the defaults: on, kiln-cache/<project>
  const std::string project = "shared-" + random_id().substr(0, 8);
  const std::string dockerfile =
      "FROM " + base_image_ + " AS compile\n" +
      "RUN head -c 200000 /dev/urandom > /made && sleep 1\n" +  // differs on every real run
      "FROM " + base_image_ + "\n" +                            //
      "COPY --from=compile /made /made\n" +                     //
      "RUN cat /made | wc -c > /size\n";
  replica_ = make_replica(10LL << 30, shared);
  const auto first = build_dockerfile(project, dockerfile);
  ASSERT_TRUE(first.has_built()) << first.DebugString();
  EXPECT_EQ(first.built().steps_cached(), 0);
  // RUN and COPY and RUN: each a step image, plus the compile stage's own.
  EXPECT_GE(wait_metric(*replica_, "kiln_builder_shared_cache_pushed_total", 3), 3);
  EXPECT_EQ(replica_->metrics().value("kiln_builder_shared_cache_errors_total"), 0);
  EXPECT_GE(cache_entries(cache_tags(project)).size(), 3U);

  replica_.reset();  // both would take builds from the same consumer
  other_ = make_replica(10LL << 30, shared);
  const auto second = build_dockerfile(project, dockerfile);
  ASSERT_TRUE(second.has_built()) << second.DebugString();
  // Every step but the two FROMs came from the cache: the random bytes were not made again.
  EXPECT_EQ(second.built().steps_cached(), second.built().steps_total() - 2)
      << second.DebugString();
  EXPECT_GT(other_->metrics().value("kiln_builder_shared_cache_pulled_total"), 0);
  ASSERT_EQ(second.built().layers_size(), first.built().layers_size());
  for (int i = 0; i < first.built().layers_size(); ++i) {
    EXPECT_EQ(second.built().layers(i).digest(), first.built().layers(i).digest()) << i;
  }
  // Another project on a third builder starts cold: nothing crosses projects in the registry.
  other_.reset();
  replica_ = make_replica(10LL << 30, shared);
  const auto elsewhere = build_dockerfile("other-" + random_id().substr(0, 8), dockerfile);
  ASSERT_TRUE(elsewhere.has_built()) << elsewhere.DebugString();
  EXPECT_EQ(elsewhere.built().steps_cached(), 0);
}

// cache.shared-max-images bounds a project's repository: the publishing builder deletes the
// least recently pushed step images past it.
TEST_F(BuilderCacheTest, SharedCacheKeepsAtMostMaxImagesPerProject) {
  SharedCacheOptions shared;
  shared.max_images = 2;
  const std::string project = "bounded-" + random_id().substr(0, 8);
  replica_ = make_replica(10LL << 30, shared);
  const auto built = build_dockerfile(project, "FROM " + base_image_ +
                                                   "\nRUN echo 1 > /1\nRUN echo 2 > /2\n"
                                                   "RUN echo 3 > /3\nRUN echo 4 > /4\n");
  ASSERT_TRUE(built.has_built()) << built.DebugString();
  EXPECT_GE(wait_metric(*replica_, "kiln_builder_shared_cache_expired_total", 2), 2);
  const auto entries = cache_entries(cache_tags(project));
  EXPECT_EQ(entries.size(), 2U);
  EXPECT_EQ(replica_->metrics().value("kiln_builder_shared_cache_errors_total"), 0);
}

}  // namespace
}  // namespace kiln::builder
