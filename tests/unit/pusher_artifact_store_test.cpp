// The pusher deletes layouts named by messages: only strictly inside artifacts.dir.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "pusher/artifact_store.h"

namespace kiln::pusher {
namespace {

namespace fs = std::filesystem;

class ArtifactStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("kiln-pusher-store-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "artifacts" / "build-1" / "blobs");
    std::ofstream(root_ / "artifacts" / "build-1" / "index.json") << "{}";
    fs::create_directories(root_ / "artifacts-other" / "build-2");
    fs::create_directories(root_ / "outside");
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string path(const std::string& rel) const { return (root_ / rel).string(); }

  fs::path root_;
};

TEST_F(ArtifactStoreTest, InsideMeansStrictlyBelowTheRoot) {
  const std::string store = path("artifacts");
  EXPECT_TRUE(is_inside(path("artifacts/build-1"), store));
  EXPECT_TRUE(is_inside(path("artifacts/build-1/"), store + "/"));
  EXPECT_TRUE(is_inside(path("artifacts/not-yet-there"), store));
  EXPECT_FALSE(is_inside(store, store));
  EXPECT_FALSE(is_inside(store + "/", store));
  EXPECT_FALSE(is_inside(store + "/.", store));
  EXPECT_FALSE(is_inside(path("artifacts-other/build-2"), store)) << "a prefix is not a parent";
  EXPECT_FALSE(is_inside(path("artifacts/../outside"), store));
  EXPECT_FALSE(is_inside(path("artifacts/build-1/../.."), store));
  EXPECT_FALSE(is_inside("", store));
  EXPECT_FALSE(is_inside(path("artifacts/build-1"), ""));
}

TEST_F(ArtifactStoreTest, SymlinkOutOfTheStoreIsNotInside) {
  fs::create_directory_symlink(path("outside"), path("artifacts/escape"));
  EXPECT_FALSE(is_inside(path("artifacts/escape"), path("artifacts")));
  auto refused = remove_layout(path("artifacts/escape"), path("artifacts"));
  EXPECT_TRUE(fs::exists(path("outside")));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition) << refused.error().describe();
}

TEST_F(ArtifactStoreTest, RelativeRootIsResolvedAgainstTheWorkingDirectory) {
  const auto cwd = fs::current_path();
  fs::current_path(root_);
  EXPECT_TRUE(is_inside(path("artifacts/build-1"), "artifacts"));
  EXPECT_TRUE(is_inside("artifacts/build-1", path("artifacts")));
  EXPECT_FALSE(is_inside("outside", "artifacts"));
  fs::current_path(cwd);
}

TEST_F(ArtifactStoreTest, RemovesOnlyInsideAndToleratesAGoneLayout) {
  ASSERT_TRUE(remove_layout(path("artifacts/build-1"), path("artifacts")).ok());
  EXPECT_FALSE(fs::exists(path("artifacts/build-1")));
  EXPECT_TRUE(fs::exists(path("artifacts")));
  EXPECT_TRUE(remove_layout(path("artifacts/build-1"), path("artifacts")).ok()) << "already gone";

  auto refused = remove_layout(path("artifacts-other/build-2"), path("artifacts"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition) << refused.error().describe();
  EXPECT_TRUE(fs::exists(path("artifacts-other/build-2")));
  auto root_itself = remove_layout(path("artifacts"), path("artifacts"));
  EXPECT_TRUE(fs::exists(path("artifacts")));
  ASSERT_FALSE(root_itself.ok());
  EXPECT_EQ(root_itself.error().code, ErrorCode::kFailedPrecondition)
      << root_itself.error().describe();
}

}  // namespace
}  // namespace kiln::pusher
