// Cron planning (services/scheduler/schedule_book.h) and the `requested` event a tick publishes.
#include <gtest/gtest.h>

#include "events/subjects.h"
#include "scheduler/schedule_book.h"
#include "scheduler/schedule_request.h"

namespace kiln::scheduler {
namespace {

// 2026-03-02T10:00:00Z, a Monday.
constexpr std::int64_t kBase = 1'772'445'600'000;
constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kGrace = 30'000;

project::Project demo(const std::string& cron = "* * * * *") {
  project::Project p;
  p.name = "demo";
  p.repository_url = "file:///srv/demo.git";
  p.default_branch = "main";
  p.concurrency = 3;
  p.max_queue_seconds = 120;
  p.schedules.push_back({.name = "nightly", .cron = cron, .timezone = "UTC", .branch = ""});
  return p;
}

TEST(ScheduleBookTest, FiresEachTickOnceFromWhenItWasLearnt) {
  ScheduleBook book;
  EXPECT_TRUE(book.set_project(demo(), kBase + 1'000).empty());
  EXPECT_TRUE(book.due(kBase + 59'000, kGrace).empty());
  auto fires = book.due(kBase + kMinute + 500, kGrace);
  ASSERT_EQ(fires.size(), 1u);
  EXPECT_EQ(fires[0].schedule_id, "demo/nightly");
  EXPECT_EQ(fires[0].fire_ms, kBase + kMinute);
  EXPECT_FALSE(fires[0].catch_up);
  EXPECT_TRUE(book.due(kBase + kMinute + 900, kGrace).empty());
  EXPECT_EQ(book.due(kBase + 2 * kMinute, kGrace).size(), 1u);
}

TEST(ScheduleBookTest, MissedTicksFireOnceAsCatchUp) {
  ScheduleBook book;
  book.record_fire("demo/nightly", kBase);  // from the log: the last tick fired before downtime
  EXPECT_TRUE(book.set_project(demo(), kBase + 10 * kMinute + 5'000).empty());
  auto fires = book.due(kBase + 10 * kMinute + 5'000, kGrace);
  ASSERT_EQ(fires.size(), 1u);
  EXPECT_EQ(fires[0].fire_ms, kBase + 10 * kMinute);
  EXPECT_TRUE(fires[0].catch_up);  // nine ticks before it were skipped
  EXPECT_TRUE(book.due(kBase + 10 * kMinute + 30'000, kGrace).empty());
}

TEST(ScheduleBookTest, ASingleLateTickIsCatchUp) {
  ScheduleBook book;
  book.record_fire("demo/nightly", kBase);
  ASSERT_TRUE(book.set_project(demo(), kBase).empty());
  auto fires = book.due(kBase + kMinute + kGrace + 1, kGrace);
  ASSERT_EQ(fires.size(), 1u);
  EXPECT_TRUE(fires[0].catch_up);
}

TEST(ScheduleBookTest, RecordedFireFromAnotherReplicaIsNotRepeated) {
  ScheduleBook book;
  ASSERT_TRUE(book.set_project(demo(), kBase).empty());
  book.record_fire("demo/nightly", kBase + kMinute);
  EXPECT_TRUE(book.due(kBase + kMinute + 100, kGrace).empty());
}

TEST(ScheduleBookTest, EditsAndRemovalsTakeEffect) {
  ScheduleBook book;
  ASSERT_TRUE(book.set_project(demo("0 3 * * *"), kBase).empty());
  EXPECT_TRUE(book.due(kBase + kMinute, kGrace).empty());
  ASSERT_TRUE(book.set_project(demo("*/2 * * * *"), kBase + kMinute).empty());
  auto fires = book.due(kBase + 2 * kMinute, kGrace);
  ASSERT_EQ(fires.size(), 1u);
  EXPECT_EQ(fires[0].fire_ms, kBase + 2 * kMinute);
  book.remove_project("demo");
  EXPECT_EQ(book.size(), 0u);
  EXPECT_TRUE(book.due(kBase + 10 * kMinute, kGrace).empty());
}

TEST(ScheduleBookTest, InvalidScheduleIsReportedAndOthersRun) {
  ScheduleBook book;
  auto p = demo();
  p.schedules.push_back({.name = "bad", .cron = "61 * * * *", .timezone = "UTC", .branch = ""});
  p.schedules.push_back(
      {.name = "zone", .cron = "* * * * *", .timezone = "Mars/Base", .branch = ""});
  auto errors = book.set_project(p, kBase);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].code, ErrorCode::kInvalidArgument);
  EXPECT_NE(errors[0].message.find("demo/bad"), std::string::npos);
  EXPECT_EQ(errors[1].code, ErrorCode::kNotFound);
  EXPECT_EQ(book.size(), 1u);
}

TEST(ScheduledRequestTest, CarriesTheTickAndAStableIdentity) {
  ScheduleBook book;
  auto p = demo();
  p.schedules[0].branch = "release";
  ASSERT_TRUE(book.set_project(p, kBase).empty());
  auto fires = book.due(kBase + kMinute, kGrace);
  ASSERT_EQ(fires.size(), 1u);
  auto request =
      make_scheduled_request(fires[0], "registry.local:5000", "scheduler/test", kBase + kMinute);
  const auto& r = request.envelope.requested();
  EXPECT_EQ(request.msg_id, events::schedule_msg_id("demo/nightly", kBase + kMinute));
  EXPECT_EQ(request.envelope.build_id(), scheduled_build_id("demo/nightly", kBase + kMinute));
  EXPECT_EQ(request.subject, events::build_subject("requested", request.envelope.build_id()));
  EXPECT_EQ(r.trigger().kind(), v1::Trigger::SCHEDULE);
  EXPECT_EQ(r.trigger().schedule_id(), "demo/nightly");
  EXPECT_EQ(r.trigger().fire_time_ms(), kBase + kMinute);
  EXPECT_EQ(r.trigger().actor(), "scheduler");
  EXPECT_EQ(r.git().ref(), "refs/heads/release");
  EXPECT_FALSE(r.git().default_branch());
  EXPECT_EQ(r.git().commit(), "");
  EXPECT_EQ(r.git().repo_url(), "file:///srv/demo.git");
  EXPECT_EQ(r.spec().registry(), "registry.local:5000");
  EXPECT_EQ(r.project_concurrency(), 3);
  EXPECT_EQ(r.max_queue_seconds(), 120);
  ASSERT_GE(r.spec().tags_size(), 1);
  EXPECT_EQ(r.spec().tags(0), "release");
  EXPECT_NE(scheduled_build_id("demo/nightly", kBase),
            scheduled_build_id("demo/nightly", kBase + 1));
}

}  // namespace
}  // namespace kiln::scheduler
