// libs/worker's registry of running jobs: what the cancel watcher and shutdown rely on.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "worker/running_jobs.h"

namespace kiln::worker {
namespace {

TEST(RunningJobsTest, CancelSetsTheFlagOfThatBuildOnly) {
  RunningJobs running;
  auto a = running.add("build-a", 1);
  auto b = running.add("build-b", 1);
  EXPECT_EQ(running.size(), 2);

  EXPECT_TRUE(running.cancel("build-a"));
  EXPECT_TRUE(a->cancelled());
  EXPECT_FALSE(b->cancelled());
}

TEST(RunningJobsTest, CancelOfABuildNotRunningHereIsFalse) {
  RunningJobs running;
  auto a = running.add("build-a", 1);
  EXPECT_FALSE(running.cancel("build-x"));
  EXPECT_FALSE(a->cancelled());
}

TEST(RunningJobsTest, SameBuildTwiceHasTwoFlagsAndBothAreCancelled) {
  // A redelivered message may be handled while the first copy still runs.
  RunningJobs running;
  auto first = running.add("build-a", 1);
  auto second = running.add("build-a", 1);
  EXPECT_NE(first, second);
  EXPECT_EQ(running.size(), 2);
  EXPECT_TRUE(running.cancel("build-a"));
  EXPECT_TRUE(first->cancelled());
  EXPECT_TRUE(second->cancelled());
}

TEST(RunningJobsTest, RemoveTakesOutOnlyTheGivenRegistration) {
  RunningJobs running;
  auto first = running.add("build-a", 1);
  auto second = running.add("build-a", 1);
  running.remove("build-a", first);
  EXPECT_EQ(running.size(), 1);
  EXPECT_TRUE(running.cancel("build-a"));
  EXPECT_FALSE(first->cancelled());
  EXPECT_TRUE(second->cancelled());

  running.remove("build-a", second);
  EXPECT_EQ(running.size(), 0);
  EXPECT_FALSE(running.cancel("build-a"));
}

TEST(RunningJobsTest, RemoveOfAnUnknownFlagChangesNothing) {
  RunningJobs running;
  auto a = running.add("build-a", 1);
  running.remove("build-a", std::make_shared<CancelFlag>());
  running.remove("build-b", a);
  EXPECT_EQ(running.size(), 1);
}

TEST(RunningJobsTest, CancelAllSetsEveryFlag) {
  RunningJobs running;
  auto a = running.add("build-a", 1);
  auto b = running.add("build-b", 1);
  running.cancel_all();
  EXPECT_TRUE(a->cancelled());
  EXPECT_TRUE(b->cancelled());
  EXPECT_EQ(running.size(), 2);  // cancelling does not unregister: the job does when it ends
}

TEST(RunningJobsTest, ConcurrentAddCancelRemoveLeavesItEmpty) {
  RunningJobs running;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&running, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string id = "build-" + std::to_string((t * 500 + i) % 7);
        auto flag = running.add(id, 1);
        running.cancel(id);
        EXPECT_TRUE(flag->cancelled());
        running.remove(id, flag);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(running.size(), 0);
}

TEST(JobRegistrationTest, RegistersForItsLifetimeAndReportsTheCount) {
  RunningJobs running;
  std::vector<int> counts;
  auto other = running.add("build-b", 1);
  {
    JobRegistration registration(running, "build-a", 1, [&counts](int n) { counts.push_back(n); });
    EXPECT_EQ(running.size(), 2);
    EXPECT_FALSE(registration.flag().cancelled());
    EXPECT_TRUE(running.cancel("build-a"));
    EXPECT_TRUE(registration.flag().cancelled());
  }
  EXPECT_EQ(running.size(), 1);
  EXPECT_FALSE(running.cancel("build-a"));
  EXPECT_EQ(counts, (std::vector<int>{2, 1}));
}

TEST(JobRegistrationTest, WorksWithoutACallback) {
  RunningJobs running;
  {
    JobRegistration registration(running, "build-a", 1);
    EXPECT_EQ(running.size(), 1);
  }
  EXPECT_EQ(running.size(), 0);
}

}  // namespace
}  // namespace kiln::worker

namespace kiln::worker {
namespace {

TEST(JobRegistrationTest, OnlyTheFirstOfOneBuildIsFirst) {
  RunningJobs running;
  JobRegistration first(running, "b1", 1);
  JobRegistration other_build(running, "b2", 1);
  EXPECT_TRUE(first.first());
  EXPECT_TRUE(other_build.first());
  {
    JobRegistration duplicate(running, "b1", 1);
    EXPECT_FALSE(duplicate.first());
  }
  EXPECT_TRUE(first.first());
}

}  // namespace
TEST(RunningJobsTest, SnapshotListsEveryRegistrationWithItsAttempt) {
  RunningJobs running;
  auto a = running.add("build-a", 2);
  auto b = running.add("build-b", 1);
  auto snapshot = running.snapshot();
  ASSERT_EQ(snapshot.size(), 2u);
  EXPECT_EQ(snapshot[0].build_id, "build-a");
  EXPECT_EQ(snapshot[0].attempt, 2);
  EXPECT_GT(snapshot[0].since_ms, 0);
  EXPECT_EQ(snapshot[1].build_id, "build-b");
  EXPECT_EQ(snapshot[1].attempt, 1);
  running.remove("build-a", a);
  snapshot = running.snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].build_id, "build-b");
}

}  // namespace kiln::worker
