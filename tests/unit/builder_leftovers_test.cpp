// What a builder sweeps (builder/leftovers.h): work directories nobody holds, dead exports and
// layouts no pusher took once old enough, and nothing a live build holds or a push may still need.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "builder/leftovers.h"
#include "support/servers.h"

namespace kiln::builder {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::seconds;

void make_dir(const fs::path& dir, std::chrono::hours age) {
  fs::create_directories(dir);
  std::ofstream(dir / "file") << "x";
  fs::last_write_time(dir, fs::file_time_type::clock::now() - age);
}

TEST(LeftoversTest, SweepsByAgeAndLeavesWhatIsInUse) {
  const fs::path root = testing::make_temp_dir("kiln-leftovers");
  const fs::path work = root / "work", artifacts = root / "artifacts";
  make_dir(work / "held", hours(0));
  const WorkDirLock lock((work / "held").string());
  ASSERT_TRUE(lock.held());
  make_dir(work / "dead", hours(0));
  std::ofstream(work / "dead" / ".kiln-lock") << "";
  make_dir(artifacts / "b1-1-old", hours(30));
  make_dir(artifacts / "b2-1-fresh", hours(2));
  make_dir(artifacts / ".tmp-old", hours(2));
  make_dir(artifacts / ".tmp-fresh", hours(0));

  const auto report = sweep_leftovers(work.string(), artifacts.string(), seconds(3600), hours(24));
  EXPECT_TRUE(fs::exists(work / "held")) << "a live build's directory stays";
  EXPECT_FALSE(fs::exists(work / "dead"));
  EXPECT_FALSE(fs::exists(artifacts / "b1-1-old")) << "a layout older than the max age goes";
  EXPECT_TRUE(fs::exists(artifacts / "b2-1-fresh"));
  EXPECT_FALSE(fs::exists(artifacts / ".tmp-old"));
  EXPECT_TRUE(fs::exists(artifacts / ".tmp-fresh"));
  EXPECT_EQ(report.work_dirs_removed, 1);
  EXPECT_EQ(report.layouts_removed, 1);
  EXPECT_EQ(report.export_dirs_removed, 1);
  EXPECT_EQ(report.failures, 0);

  make_dir(artifacts / "b3-1-ancient", hours(1000));
  EXPECT_EQ(
      sweep_leftovers(work.string(), artifacts.string(), seconds(3600), hours(0)).layouts_removed,
      0)
      << "max age 0 keeps layouts";
  EXPECT_TRUE(fs::exists(artifacts / "b3-1-ancient"));
  testing::remove_tree(root.string());
}

}  // namespace
}  // namespace kiln::builder
