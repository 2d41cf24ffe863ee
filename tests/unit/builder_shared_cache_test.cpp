// The shared layer cache's pure parts: tags, what expires, repository names, and which images of
// a buildah storage are a build's steps.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "builder/image_store.h"
#include "builder/shared_cache.h"
#include "support/servers.h"

namespace kiln::builder {
namespace {

std::string hex_id(char c) { return std::string(64, c); }

TEST(SharedCacheTags, GroupByImageNewestFirstAndIgnoreForeignTags) {
  const auto entries = cache_entries(
      {cache_tag(100, "sha256:" + hex_id('a')), cache_tag(300, hex_id('a')),
       cache_tag(200, hex_id('b')), "latest", "12-short", "x-" + hex_id('c'), "5-" + hex_id('A')});
  ASSERT_EQ(entries.size(), 2U);
  EXPECT_EQ(entries[0].id, hex_id('a'));
  EXPECT_EQ(entries[0].newest, 300);
  EXPECT_EQ(entries[0].tags.size(), 2U);
  EXPECT_EQ(entries[1].id, hex_id('b'));
  EXPECT_EQ(entries[1].tags, std::vector<std::string>{"200-" + hex_id('b')});
}

TEST(SharedCacheTags, ExpireByAgeAndPastTheCount) {
  const auto entries = cache_entries(
      {cache_tag(1000, hex_id('a')), cache_tag(900, hex_id('b')), cache_tag(100, hex_id('c'))});
  const auto old = expired_entries(entries, /*now=*/1000, /*max_age=*/500, /*max_images=*/10);
  ASSERT_EQ(old.size(), 1U);
  EXPECT_EQ(old[0].id, hex_id('c'));
  const auto many = expired_entries(entries, 1000, 5000, /*max_images=*/1);
  ASSERT_EQ(many.size(), 2U);
  EXPECT_EQ(many[0].id, hex_id('b'));
  EXPECT_EQ(many[1].id, hex_id('c'));
}

TEST(SharedCacheRepository, ProjectNamesThatAreNoRepositoryComponentAreHashed) {
  EXPECT_EQ(cache_repository("kiln-cache", "web-app"), "kiln-cache/web-app");
  const std::string odd = cache_repository("kiln-cache", "a__-b");
  EXPECT_EQ(odd.rfind("kiln-cache/p-", 0), 0U) << odd;
  EXPECT_EQ(odd.size(), std::string("kiln-cache/p-").size() + 24);
  EXPECT_NE(cache_repository("kiln-cache", "../x"), "kiln-cache/../x");
}

TEST(StorageTime, ParsesWhatContainersStorageWrites) {
  EXPECT_EQ(parse_storage_time("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(parse_storage_time("2026-12-07T12:52:50.11932399Z"), 1796647970119);
  EXPECT_EQ(parse_storage_time("2026-12-07T12:52:50Z"), 1796647970000);
  EXPECT_EQ(parse_storage_time("2026-12-07T12:52:50+01:00"), 0);
  EXPECT_EQ(parse_storage_time("garbage"), 0);
}

// A storage as buildah leaves it after a two-stage build on base image B (layer L0):
//   stage 1: S1 (RUN, layer L1 on L0), S2 (ENV, still L1)
//   stage 2: F1 (COPY, layer L2 on L0), F (RUN, layer L3 on L2): the final image
// plus an older image O of another build (layer L4 on L0) and a pulled cache image C (L2).
class BuildStepImagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::make_temp_dir("kiln-image-store-test");
    std::filesystem::create_directories(root_ + "/vfs-images");
    std::filesystem::create_directories(root_ + "/vfs-layers");
    std::ofstream(root_ + "/vfs-images/images.json") << R"([
      {"id":")" + hex_id('b') + R"(","names":["reg:5000/kiln/busybox:latest"],"layer":"L0",
       "created":"1970-01-01T00:00:00Z"},
      {"id":")" + hex_id('o') + R"(","layer":"L4","created":"2026-12-07T10:00:00Z"},
      {"id":")" + hex_id('1') + R"(","layer":"L1","created":"2026-12-07T12:00:01.5Z"},
      {"id":")" + hex_id('2') + R"(","layer":"L1","created":"2026-12-07T12:00:02Z"},
      {"id":")" + hex_id('c') + R"(","names":["reg:5000/kiln-cache/p:9-x"],"layer":"L2",
       "created":"2026-12-06T00:00:00Z"},
      {"id":")" + hex_id('f') + R"(","layer":"L3","created":"2026-12-07T12:00:04Z"}
    ])";
    std::ofstream(root_ + "/vfs-layers/layers.json") << R"([
      {"id":"L0"},{"id":"L1","parent":"L0"},{"id":"L2","parent":"L0"},
      {"id":"L3","parent":"L2"},{"id":"L4","parent":"L0"}
    ])";
  }
  void TearDown() override { testing::remove_tree(root_); }

  std::string root_;
};

TEST_F(BuildStepImagesTest, TheFinalImagesChainWithoutOtherNamesAndOtherStagesByTime) {
  auto storage = read_storage(root_);
  ASSERT_TRUE(storage.ok()) << storage.error().describe();
  EXPECT_EQ(storage->images.size(), 6U);
  const std::string prefix = "reg:5000/kiln-cache/p:";
  // Without a start time: the chain only (C is on it and named in the cache; B is named
  // elsewhere; O and the first stage share no layer but L0, which is B's).
  const auto chain = build_step_images(*storage, "sha256:" + hex_id('f'), 0, prefix);
  EXPECT_EQ(chain, (std::vector<std::string>{hex_id('c'), hex_id('f')}));
  // From the build's start on: the first stage too, never the older image of another build.
  const auto all =
      build_step_images(*storage, hex_id('f'), parse_storage_time("2026-12-07T12:00:00Z"), prefix);
  EXPECT_EQ(all, (std::vector<std::string>{hex_id('1'), hex_id('2'), hex_id('c'), hex_id('f')}));
  EXPECT_TRUE(build_step_images(*storage, hex_id('9'), 0, prefix).empty());
  EXPECT_TRUE(holds_image(*storage, "sha256:" + hex_id('o')));
  EXPECT_FALSE(holds_image(*storage, hex_id('9')));
}

TEST_F(BuildStepImagesTest, MalformedMetadataIsAnErrorAndAMissingStorageIsEmpty) {
  std::ofstream(root_ + "/vfs-layers/layers.json") << "{not json";
  EXPECT_EQ(read_storage(root_).error().code, ErrorCode::kDataLoss);
  auto empty = read_storage(root_ + "/nowhere");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->images.empty());
}

}  // namespace
}  // namespace kiln::builder
