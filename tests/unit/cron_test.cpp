// Unit tests for libs/cron: the cron parser, next-fire search across DST changes, and the TZif
// time zone reader. Expected fire times were worked out by hand and checked against
// `TZ=<zone> date -d @SECONDS`; the offset tests also compare against glibc's localtime_r.
#include "cron/cron.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <set>
#include <string>
#include <vector>

#include "cron/time_zone.h"

namespace kiln::cron {
namespace {

// "2026-03-29T01:00:00Z" → Unix seconds.
int64_t Utc(const std::string& rfc3339) {
  long long year = 0;
  int month = 0, day = 0, hour = 0, minute = 0, second = 0;
  char zulu = 0;
  if (std::sscanf(rfc3339.c_str(), "%lld-%d-%dT%d:%d:%d%c", &year, &month, &day, &hour, &minute,
                  &second, &zulu) != 7 ||
      zulu != 'Z') {
    ADD_FAILURE() << "bad RFC 3339 time in test: " << rfc3339;
    return 0;
  }
  return civil_to_seconds({year, month, day, hour, minute, second});
}

// Wall-clock "2026-03-29 02:30" → local seconds.
int64_t Local(int64_t year, int month, int day, int hour, int minute) {
  return civil_to_seconds({year, month, day, hour, minute, 0});
}

TimeZone Zone(const std::string& name) {
  Result<TimeZone> zone = TimeZone::load(name);
  EXPECT_TRUE(zone.ok()) << name << ": " << zone.error().message;
  return zone.ok() ? *zone : TimeZone::utc();
}

Schedule Parse(const std::string& expression) {
  Result<Schedule> schedule = Schedule::parse(expression);
  EXPECT_TRUE(schedule.ok()) << expression << ": " << schedule.error().message;
  return *Schedule::parse(schedule.ok() ? expression : "* * * * *");
}

// ---------------------------------------------------------------------------------------------
// Next fire table.

struct NextFireCase {
  const char* expression;
  const char* zone;
  const char* after;     // RFC 3339, UTC
  const char* expected;  // RFC 3339, UTC
};

void PrintTo(const NextFireCase& c, std::ostream* os) {
  *os << "\"" << c.expression << "\" in " << c.zone << " after " << c.after;
}

class NextFireTest : public testing::TestWithParam<NextFireCase> {};

TEST_P(NextFireTest, MatchesTable) {
  const NextFireCase& c = GetParam();
  const TimeZone zone = Zone(c.zone);
  const Schedule schedule = Parse(c.expression);
  EXPECT_EQ(format_rfc3339(schedule.next_after(Utc(c.after), zone)), c.expected);
}

// Berlin 2026: 2026-03-29T01:00Z local 02:00 CET → 03:00 CEST; 2026-10-25T01:00Z local
// 03:00 CEST → 02:00 CET (02:xx shows at 00:xxZ and again at 01:xxZ).
// New York 2026: 2026-03-08T07:00Z 02:00 EST → 03:00 EDT; 2026-11-01T06:00Z 02:00 EDT →
// 01:00 EST (01:xx shows at 05:xxZ and again at 06:xxZ).
// Sydney 2026: 2026-10-03T16:00Z 02:00 AEST → 03:00 AEDT; 2026-04-04T16:00Z 03:00 → 02:00.
// Lord Howe 2026: 2026-10-03T15:30Z 02:00 → 02:30 (+10:30 → +11).
const NextFireCase kNextFireCases[] = {
    // UTC: fields, lists, ranges, steps.
    {"* * * * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"},  // strictly after
    {"* * * * *", "UTC", "2026-01-01T00:00:30Z", "2026-01-01T00:01:00Z"},
    {"0 * * * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"},
    {"*/15 * * * *", "UTC", "2026-01-01T00:14:59Z", "2026-01-01T00:15:00Z"},
    {"*/15 * * * *", "UTC", "2026-01-01T00:45:00Z", "2026-01-01T01:00:00Z"},
    {"1-30/5 * * * *", "UTC", "2026-01-01T00:26:00Z", "2026-01-01T01:01:00Z"},
    {"1-30/5 * * * *", "UTC", "2026-01-01T00:07:00Z", "2026-01-01T00:11:00Z"},
    {"1,2,5-7 * * * *", "UTC", "2026-01-01T00:02:00Z", "2026-01-01T00:05:00Z"},
    {"1,2,5-7 * * * *", "UTC", "2026-01-01T00:07:00Z", "2026-01-01T01:01:00Z"},
    {"5/20 * * * *", "UTC", "2026-01-01T00:46:00Z", "2026-01-01T01:05:00Z"},
    {"30 2 * * *", "UTC", "2026-01-01T02:30:00Z", "2026-01-02T02:30:00Z"},
    {"0 9-17/4 * * *", "UTC", "2026-01-01T13:00:00Z", "2026-01-01T17:00:00Z"},
    {"59 23 31 12 *", "UTC", "2026-01-01T00:00:00Z", "2026-12-31T23:59:00Z"},
    {"0 0 31 * *", "UTC", "2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z"},
    {"0 0 * 2 *", "UTC", "2026-03-01T00:00:00Z", "2027-02-01T00:00:00Z"},
    {"0-59 0-23 1-31 1-12 0-7", "UTC", "2026-05-05T05:05:05Z", "2026-05-05T05:06:00Z"},
    // Macros.
    {"@yearly", "UTC", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"},
    {"@annually", "UTC", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
    {"@monthly", "UTC", "2026-01-31T12:00:00Z", "2026-02-01T00:00:00Z"},
    {"@weekly", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},  // Thu → Sun
    {"@daily", "UTC", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"},
    {"@midnight", "UTC", "2026-02-28T00:00:00Z", "2026-03-01T00:00:00Z"},
    {"@hourly", "UTC", "2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z"},
    {"@DAILY", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
    // Names (case-insensitive), Sunday as 0 and 7, ranges ending on Sunday.
    {"0 9 * JAN-MAR MON-FRI", "UTC", "2026-03-31T09:00:00Z", "2027-01-01T09:00:00Z"},
    {"0 12 * * sat,Sun", "UTC", "2026-01-01T00:00:00Z", "2026-01-03T12:00:00Z"},
    {"0 0 * * 7", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
    {"0 0 * * 0", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
    {"0 0 * * FRI-SUN", "UTC", "2026-01-05T00:00:00Z", "2026-01-09T00:00:00Z"},
    {"0 0 * * 5-7", "UTC", "2026-01-10T00:00:00Z", "2026-01-11T00:00:00Z"},
    {"0 12 * * 1-5/2", "UTC", "2026-01-05T12:00:00Z", "2026-01-07T12:00:00Z"},  // Mon,Wed,Fri
    {"0 0 1 jun *", "UTC", "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z"},
    // Feb 29.
    {"0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z"},
    {"0 0 29 2 *", "UTC", "2096-02-29T00:00:00Z", "2104-02-29T00:00:00Z"},  // 2100 is no leap
    {"0 0 29 2 *", "Europe/Berlin", "2026-01-01T00:00:00Z", "2028-02-28T23:00:00Z"},
    // Day-of-month OR day-of-week when both are restricted (Vixie cron).
    {"0 0 13 * FRI", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},  // a Friday
    {"0 0 13 * FRI", "UTC", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z"},  // the 13th
    {"0 0 1 * MON", "UTC", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z"},
    {"0 0 30 2 MON", "UTC", "2026-01-31T00:00:00Z", "2026-02-02T00:00:00Z"},
    // ... AND when either starts with '*': odd days that are Fridays.
    {"0 0 */2 * FRI", "UTC", "2026-01-01T00:00:00Z", "2026-01-09T00:00:00Z"},
    {"0 0 13 * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-13T00:00:00Z"},
    // Berlin, spring forward: 02:xx does not exist on 2026-03-29.
    {"30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"},  // gap end
    {"30 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"},
    {"0 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"},
    {"0 3 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"},
    {"30 1 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T00:30:00Z"},
    {"30 3 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:30:00Z"},
    {"15 2 29 3 *", "Europe/Berlin", "2026-01-01T00:00:00Z", "2026-03-29T01:00:00Z"},
    {"*/20 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"},
    {"*/20 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"},
    {"*/30 * * * *", "Europe/Berlin", "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z"},
    {"30 * * * *", "Europe/Berlin", "2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z"},  // elapsed
    {"@daily", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-28T23:00:00Z"},
    {"@daily", "Europe/Berlin", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"},
    // Berlin, fall back: 02:xx shows twice on 2026-10-25.
    {"30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"},  // first
    {"30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},  // not again
    {"0 2 * * *", "Europe/Berlin", "2026-10-25T00:00:00Z", "2026-10-26T01:00:00Z"},
    {"*/20 2 * * *", "Europe/Berlin", "2026-10-25T00:40:00Z", "2026-10-26T01:00:00Z"},
    {"0 3 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T02:00:00Z"},
    {"0 1 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-24T23:00:00Z"},
    {"0 * * * *", "Europe/Berlin", "2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z"},  // 2nd pass
    {"30 * * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"},
    {"0 0 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-24T22:00:00Z"},
    {"0 0 * * *", "Europe/Berlin", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"},
    // New York, spring forward on 2026-03-08.
    {"30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z"},
    {"30 2 * * *", "America/New_York", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"},
    {"0 */2 * * *", "America/New_York", "2026-03-08T05:00:00Z", "2026-03-08T07:00:00Z"},
    {"0 */2 * * *", "America/New_York", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"},
    {"*/15 * * * *", "America/New_York", "2026-03-08T06:45:00Z", "2026-03-08T07:00:00Z"},
    {"@daily", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T05:00:00Z"},
    {"@daily", "America/New_York", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"},
    // New York, fall back on 2026-11-01.
    {"30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z"},
    {"30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"},
    {"*/30 * * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z"},
    {"0 2 * * *", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-01T07:00:00Z"},
    {"0 0 * * *", "America/New_York", "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"},
    {"0 9 * * MON-FRI", "America/New_York", "2026-11-01T12:00:00Z", "2026-11-02T14:00:00Z"},
    // Southern hemisphere and a 30-minute shift.
    {"30 2 * * *", "Australia/Sydney", "2026-10-03T00:00:00Z", "2026-10-03T16:00:00Z"},
    {"30 2 * * *", "Australia/Sydney", "2026-04-04T00:00:00Z", "2026-04-04T15:30:00Z"},
    {"30 2 * * *", "Australia/Sydney", "2026-04-04T15:30:00Z", "2026-04-05T16:30:00Z"},
    {"15 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z", "2026-10-03T15:30:00Z"},
    {"45 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z", "2026-10-03T15:45:00Z"},
    // Non-hour offsets.
    {"0 9 * * *", "Asia/Kolkata", "2026-01-01T00:00:00Z", "2026-01-01T03:30:00Z"},
    {"0 9 * * *", "Asia/Kathmandu", "2026-01-01T00:00:00Z", "2026-01-01T03:15:00Z"},
    // Beyond 2037, where only the TZif footer rule speaks.
    {"30 2 * * *", "Europe/Berlin", "2050-03-26T12:00:00Z", "2050-03-27T01:00:00Z"},
    {"30 1 * * *", "America/New_York", "2061-11-06T00:00:00Z", "2061-11-06T05:30:00Z"},
    {"30 1 * * *", "America/New_York", "2061-11-06T05:30:00Z", "2061-11-07T06:30:00Z"},
};

INSTANTIATE_TEST_SUITE_P(Table, NextFireTest, testing::ValuesIn(kNextFireCases));

// ---------------------------------------------------------------------------------------------
// Sequences across DST changes: the whole list of fires, to show nothing fires twice or vanishes.

std::vector<std::string> Fires(const std::string& expression, const std::string& zone,
                               const std::string& after, const std::string& until) {
  std::vector<std::string> out;
  for (int64_t t : Parse(expression).fires_between(Utc(after), Utc(until), Zone(zone), 1000)) {
    out.push_back(format_rfc3339(t));
  }
  return out;
}

TEST(CronSequenceTest, ElapsedTimeJobAcrossBerlinSpringForward) {
  // 01:30 CET, then 03:00 CEST: 30 real minutes, as every other interval.
  EXPECT_EQ(Fires("*/30 * * * *", "Europe/Berlin", "2026-03-28T23:45:00Z", "2026-03-29T02:00:00Z"),
            (std::vector<std::string>{"2026-03-29T00:00:00Z", "2026-03-29T00:30:00Z",
                                      "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z",
                                      "2026-03-29T02:00:00Z"}));
}

TEST(CronSequenceTest, ElapsedTimeJobAcrossBerlinFallBack) {
  // Both passes of 02:xx fire: every real hour.
  EXPECT_EQ(Fires("0 * * * *", "Europe/Berlin", "2026-10-24T22:30:00Z", "2026-10-25T03:00:00Z"),
            (std::vector<std::string>{"2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z",
                                      "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z",
                                      "2026-10-25T03:00:00Z"}));
}

TEST(CronSequenceTest, WallClockJobOncePerDayAcrossBothBerlinChanges) {
  const std::vector<std::string> spring =
      Fires("30 2 * * *", "Europe/Berlin", "2026-03-27T00:00:00Z", "2026-03-31T00:00:00Z");
  EXPECT_EQ(spring, (std::vector<std::string>{"2026-03-27T01:30:00Z", "2026-03-28T01:30:00Z",
                                              "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}));
  const std::vector<std::string> fall =
      Fires("30 2 * * *", "Europe/Berlin", "2026-10-23T00:00:00Z", "2026-10-27T00:00:00Z");
  EXPECT_EQ(fall, (std::vector<std::string>{"2026-10-23T00:30:00Z", "2026-10-24T00:30:00Z",
                                            "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}));
}

TEST(CronSequenceTest, SkippedMinutesCollapseIntoOneFireAtGapEnd) {
  // Every 10 minutes during 02:xx: on the spring-forward day all six collapse to 03:00 CEST.
  EXPECT_EQ(Fires("*/10 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z"),
            (std::vector<std::string>{"2026-03-29T01:00:00Z"}));
  // On the fall-back day they fire in the first pass only.
  EXPECT_EQ(Fires("*/10 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T12:00:00Z"),
            (std::vector<std::string>{"2026-10-25T00:00:00Z", "2026-10-25T00:10:00Z",
                                      "2026-10-25T00:20:00Z", "2026-10-25T00:30:00Z",
                                      "2026-10-25T00:40:00Z", "2026-10-25T00:50:00Z"}));
}

TEST(CronSequenceTest, NewYorkHourlyAcrossFallBack) {
  EXPECT_EQ(Fires("30 * * * *", "America/New_York", "2026-11-01T04:00:00Z", "2026-11-01T08:00:00Z"),
            (std::vector<std::string>{"2026-11-01T04:30:00Z", "2026-11-01T05:30:00Z",
                                      "2026-11-01T06:30:00Z", "2026-11-01T07:30:00Z"}));
}

// ---------------------------------------------------------------------------------------------
// next_after against a brute-force evaluation of the documented rule, minute by minute, around
// every DST change of 2026 (and the 30-minute Lord Howe shift).

std::vector<int64_t> BruteForce(const Schedule& schedule, const TimeZone& zone, int64_t after,
                                int64_t until) {
  std::set<int64_t> fires;
  const int64_t slack = 2 * kSecondsPerDay;
  for (int64_t local = floor_div(after - slack, 60) * 60; local <= until + slack; local += 60) {
    if (!schedule.matches(civil_from_seconds(local))) continue;
    const LocalTimeLookup lookup = zone.lookup_local(local);
    switch (lookup.kind) {
      case LocalTimeLookup::Kind::kUnique:
        fires.insert(lookup.earliest);
        break;
      case LocalTimeLookup::Kind::kAmbiguous:
        fires.insert(lookup.earliest);
        if (schedule.follows_elapsed_time()) fires.insert(lookup.latest);
        break;
      case LocalTimeLookup::Kind::kSkipped:
        if (!schedule.follows_elapsed_time()) fires.insert(lookup.earliest);
        break;
    }
  }
  std::vector<int64_t> out;
  for (int64_t t : fires) {
    if (t > after && t <= until) out.push_back(t);
  }
  return out;
}

TEST(CronBruteForceTest, NextAfterAgreesAroundDstChanges) {
  const char* expressions[] = {"* * * * *",  "*/7 * * * *",   "0 * * * *",   "30 * * * *",
                               "30 2 * * *", "*/10 2 * * *",  "0 */2 * * *", "15 1-3 * * *",
                               "59 1 * * *", "0 3 * * *",     "* 2 * * *",   "0 0 * * SUN",
                               "45 2 * * 0", "*/20 1,2 * * *"};
  const struct {
    const char* zone;
    const char* from;
  } windows[] = {{"Europe/Berlin", "2026-03-28T12:00:00Z"},
                 {"Europe/Berlin", "2026-10-24T12:00:00Z"},
                 {"America/New_York", "2026-03-07T18:00:00Z"},
                 {"America/New_York", "2026-10-31T18:00:00Z"},
                 {"Australia/Sydney", "2026-04-04T06:00:00Z"},
                 {"Australia/Sydney", "2026-10-03T06:00:00Z"},
                 {"Australia/Lord_Howe", "2026-04-04T06:00:00Z"},
                 {"Australia/Lord_Howe", "2026-10-03T06:00:00Z"},
                 {"UTC", "2026-06-01T00:00:00Z"}};
  for (const auto& window : windows) {
    const TimeZone zone = Zone(window.zone);
    const int64_t after = Utc(window.from);
    const int64_t until = after + kSecondsPerDay;
    for (const char* expression : expressions) {
      SCOPED_TRACE(std::string(expression) + " in " + window.zone + " from " + window.from);
      const Schedule schedule = Parse(expression);
      EXPECT_EQ(schedule.fires_between(after, until, zone, 100000),
                BruteForce(schedule, zone, after, until));
    }
  }
}

TEST(CronBruteForceTest, NextAfterIsStrictAndConsistentForEverySecondNearAGap) {
  // Every second around the Berlin spring-forward gap: next_after(t) > t, and next_after of
  // any instant between t and its next fire returns that same fire.
  const TimeZone zone = Zone("Europe/Berlin");
  const Schedule schedule = Parse("30 2 * * *");
  const int64_t gap = Utc("2026-03-29T01:00:00Z");
  for (int64_t t = gap - 2 * kSecondsPerHour; t < gap + 2 * kSecondsPerHour; ++t) {
    const int64_t next = schedule.next_after(t, zone);
    ASSERT_GT(next, t);
    ASSERT_EQ(next, t < gap ? gap : Utc("2026-03-30T00:30:00Z")) << format_rfc3339(t);
  }
}

// ---------------------------------------------------------------------------------------------
// Catch-up helpers.

TEST(CronCatchUpTest, LastFireInFindsTheLatestMissedTick) {
  const TimeZone utc = TimeZone::utc();
  const Schedule every_minute = Parse("* * * * *");
  // A year of downtime: one answer, not half a million ticks.
  EXPECT_EQ(
      every_minute.last_fire_in(Utc("2025-01-01T00:00:00Z"), Utc("2026-01-01T12:34:56Z"), utc),
      Utc("2026-01-01T12:34:00Z"));
  // The upper bound is inclusive, the lower exclusive.
  EXPECT_EQ(
      every_minute.last_fire_in(Utc("2026-01-01T12:33:00Z"), Utc("2026-01-01T12:34:00Z"), utc),
      Utc("2026-01-01T12:34:00Z"));
  EXPECT_EQ(
      every_minute.last_fire_in(Utc("2026-01-01T12:34:00Z"), Utc("2026-01-01T12:34:59Z"), utc),
      std::nullopt);
  const Schedule leap_day = Parse("0 0 29 2 *");
  EXPECT_EQ(leap_day.last_fire_in(Utc("2025-01-01T00:00:00Z"), Utc("2030-01-01T00:00:00Z"), utc),
            Utc("2028-02-29T00:00:00Z"));
  EXPECT_EQ(leap_day.last_fire_in(Utc("2028-02-29T00:00:00Z"), Utc("2032-02-28T00:00:00Z"), utc),
            std::nullopt);
  EXPECT_EQ(leap_day.last_fire_in(Utc("2030-01-01T00:00:00Z"), Utc("2020-01-01T00:00:00Z"), utc),
            std::nullopt);
}

TEST(CronCatchUpTest, LastFireInAgreesWithFiresBetween) {
  const TimeZone zone = Zone("Europe/Berlin");
  const char* expressions[] = {"*/15 * * * *", "30 2 * * *",   "0 9 * * MON-FRI",
                               "0 0 1 * *",    "*/10 2 * * *", "0 0 13 * FRI"};
  uint64_t seed = 42;
  const auto random = [&seed](int64_t bound) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int64_t>((seed >> 33) % static_cast<uint64_t>(bound));
  };
  const int64_t base = Utc("2026-01-01T00:00:00Z");
  for (const char* expression : expressions) {
    const Schedule schedule = Parse(expression);
    for (int i = 0; i < 40; ++i) {
      const int64_t after = base + random(365 * kSecondsPerDay);
      const int64_t until = after + random(40 * kSecondsPerDay);
      SCOPED_TRACE(std::string(expression) + " (" + format_rfc3339(after) + ", " +
                   format_rfc3339(until) + "]");
      const std::vector<int64_t> all = schedule.fires_between(after, until, zone, 1000000);
      const std::optional<int64_t> last = schedule.last_fire_in(after, until, zone);
      if (all.empty()) {
        EXPECT_EQ(last, std::nullopt);
      } else {
        EXPECT_EQ(last, all.back());
      }
    }
  }
}

TEST(CronCatchUpTest, FiresBetweenHonoursTheCap) {
  const std::vector<int64_t> fires =
      Parse("* * * * *")
          .fires_between(Utc("2026-01-01T00:00:00Z"), Utc("2026-01-02T00:00:00Z"), TimeZone::utc(),
                         3);
  EXPECT_EQ(fires, (std::vector<int64_t>{Utc("2026-01-01T00:01:00Z"), Utc("2026-01-01T00:02:00Z"),
                                         Utc("2026-01-01T00:03:00Z")}));
}

// ---------------------------------------------------------------------------------------------
// Long searches: the search skips by month, day and hour (how fast is bench/scheduler_bench's
// "cron next_after" line; a test asserts results, never time).

TEST(CronPerformanceTest, NextAfterFromManyStartsIsAlwaysTheNextMinuteThatMatches) {
  const TimeZone zone = Zone("Europe/Berlin");
  const char* expressions[] = {"*/15 * * * *", "30 2 * * *",   "0 9 * * MON-FRI",
                               "0 0 29 2 *",   "0 0 13 * FRI", "59 23 31 12 *"};
  for (const char* expression : expressions) {
    const Schedule schedule = Parse(expression);
    // Start points about a day apart, spread over five and a half years.
    const int64_t base = Utc("2026-01-01T00:00:00Z");
    for (int i = 0; i < 2000; ++i) {
      const int64_t start = base + i * 86413;
      const int64_t next = schedule.next_after(start, zone);
      ASSERT_GT(next, start) << expression;
      ASSERT_EQ(next % 60, 0) << expression;
      // Consistent from any start in between, and `next` is an instant the schedule fires at.
      ASSERT_EQ(schedule.next_after(next - 1, zone), next) << expression;
      ASSERT_EQ(schedule.next_after(start + (next - start) / 2, zone), next) << expression;
    }
  }
}

TEST(CronPerformanceTest, LeapDayIsFoundAcrossTheNonLeapCentury) {
  const int64_t next = Parse("0 0 29 2 *").next_after(Utc("2096-03-01T00:00:00Z"), TimeZone::utc());
  EXPECT_EQ(format_rfc3339(next), "2104-02-29T00:00:00Z");
}

TEST(CronPerformanceTest, NoFireBeforeYear9999IsKNever) {
  const Schedule schedule = Parse("0 0 * * *");
  EXPECT_EQ(schedule.next_after(Utc("9999-12-31T00:00:00Z"), TimeZone::utc()), kNever);
  EXPECT_EQ(schedule.next_after(kNever, TimeZone::utc()), kNever);
}

// ---------------------------------------------------------------------------------------------
// Parsing.

struct InvalidCase {
  const char* expression;
  const char* message;  // the exact error message
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << "\"" << c.expression << "\""; }

class InvalidExpressionTest : public testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidExpressionTest, IsRejectedWithClearError) {
  const InvalidCase& c = GetParam();
  Result<Schedule> schedule = Schedule::parse(c.expression);
  ASSERT_FALSE(schedule.ok());
  EXPECT_EQ(schedule.error().code, ErrorCode::kInvalidArgument) << schedule.error().describe();
  EXPECT_EQ(schedule.error().message, c.message);
}

const InvalidCase kInvalidCases[] = {
    {"", "empty cron expression"},
    {" \t ", "empty cron expression"},
    {"* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
    {"0 * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 6"},
    {"61 * * * *", "minute: value 61 out of range 0-59"},
    {"* 24 * * *", "hour: value 24 out of range 0-23"},
    {"* * 0 * *", "day-of-month: value 0 out of range 1-31"},
    {"* * 32 * *", "day-of-month: value 32 out of range 1-31"},
    {"* * * 13 *", "month: value 13 out of range 1-12"},
    {"* * * 0 *", "month: value 0 out of range 1-12"},
    {"* * * * 8", "day-of-week: value 8 out of range 0-7"},
    {"1,99999999999 * * * *", "minute: value 99999999999 out of range 0-59"},
    {"0 0-25 * * *", "hour: value 25 out of range 0-23"},
    {"* * * FOO *", "month: unknown name \"FOO\" (expected JAN-DEC)"},
    {"* * * * MOM", "day-of-week: unknown name \"MOM\" (expected SUN-SAT)"},
    {"* * * * MONDAY", "day-of-week: unknown name \"MONDAY\" (expected SUN-SAT)"},
    {"MON * * * *", "minute: invalid value \"MON\""},
    {"1x * * * *", "minute: invalid value \"1x\""},
    {"? * * * *", "minute: invalid value \"?\""},
    {"*/0 * * * *", "minute: step 0 out of range 1-60"},
    {"*/61 * * * *", "minute: step 61 out of range 1-60"},
    {"* */25 * * *", "hour: step 25 out of range 1-24"},
    {"*/x * * * *", "minute: invalid step \"x\" in \"*/x\""},
    {"*/ * * * *", "minute: invalid step \"\" in \"*/\""},
    {"*/5/2 * * * *", "minute: invalid step in \"*/5/2\""},
    {"5-1 * * * *", "minute: range 5-1 has start after end"},
    {"* * * DEC-JAN *", "month: range DEC-JAN has start after end"},
    {"1-2-3 * * * *", "minute: invalid range \"1-2-3\""},
    {"-5 * * * *", "minute: invalid range \"-5\""},
    {"5- * * * *", "minute: invalid range \"5-\""},
    {"1,,2 * * * *", "minute: empty list element in \"1,,2\""},
    {"1, * * * *", "minute: empty list element in \"1,\""},
    {"0 0 30 2 *",
     "day-of-month: \"30\" never occurs in month \"2\", so the schedule would "
     "never fire"},
    {"0 0 31 4,6,9,11 *",
     "day-of-month: \"31\" never occurs in month \"4,6,9,11\", so the "
     "schedule would never fire"},
    {"@reboot", "@reboot is not supported (it is not a schedule)"},
    {"@fortnightly",
     "unknown macro \"@fortnightly\" (expected @yearly, @annually, @monthly, "
     "@weekly, @daily, @midnight or @hourly)"},
    {"@daily 5", "unexpected text after @daily"},
    {"@every 5m",
     "unknown macro \"@every\" (expected @yearly, @annually, @monthly, @weekly, "
     "@daily, @midnight or @hourly)"},
};

INSTANTIATE_TEST_SUITE_P(Table, InvalidExpressionTest, testing::ValuesIn(kInvalidCases));

TEST(CronParseTest, KeepsTheTrimmedExpression) {
  EXPECT_EQ(Parse(" \t*/5 *  * * *\t").expression(), "*/5 *  * * *");
  EXPECT_EQ(Parse("@daily").expression(), "@daily");
}

TEST(CronParseTest, AcceptsTabsAndPossibleOddities) {
  EXPECT_TRUE(Schedule::parse("0\t0\t*\t*\t*").ok());
  EXPECT_TRUE(Schedule::parse("0 0 31 2,3 *").ok());  // March has a 31st
  EXPECT_TRUE(Schedule::parse("0 0 29 2 *").ok());    // leap years
  EXPECT_TRUE(Schedule::parse("0 0 30 2 MON").ok());  // Mondays in February (OR rule)
  EXPECT_TRUE(Schedule::parse("*/60 */24 * * *").ok());
}

TEST(CronParseTest, FollowsElapsedTimeOnlyWhenEveryHourMatches) {
  EXPECT_TRUE(Parse("*/15 * * * *").follows_elapsed_time());
  EXPECT_TRUE(Parse("0 0-23 * * MON").follows_elapsed_time());
  EXPECT_TRUE(Parse("@hourly").follows_elapsed_time());
  EXPECT_FALSE(Parse("0 */2 * * *").follows_elapsed_time());
  EXPECT_FALSE(Parse("* 2 * * *").follows_elapsed_time());
  EXPECT_FALSE(Parse("@daily").follows_elapsed_time());
}

TEST(CronParseTest, MatchesWallClockTimes) {
  const Schedule schedule = Parse("*/15 9-17 * * MON-FRI");
  EXPECT_TRUE(schedule.matches({2026, 1, 5, 9, 45, 0}));  // Monday
  EXPECT_FALSE(schedule.matches({2026, 1, 5, 9, 44, 0}));
  EXPECT_FALSE(schedule.matches({2026, 1, 4, 9, 45, 0}));  // Sunday
  EXPECT_FALSE(schedule.matches({2026, 1, 5, 18, 0, 0}));
}

// ---------------------------------------------------------------------------------------------
// TimeZone.

struct OffsetCase {
  const char* zone;
  const char* at;
  int32_t offset;
};

TEST(TimeZoneTest, KnownOffsets) {
  const OffsetCase cases[] = {
      {"UTC", "2026-07-01T00:00:00Z", 0},
      {"Etc/UTC", "2026-07-01T00:00:00Z", 0},
      {"Europe/Berlin", "2026-01-15T12:00:00Z", 3600},
      {"Europe/Berlin", "2026-07-01T12:00:00Z", 7200},
      {"Europe/Berlin", "2026-03-29T00:59:59Z", 3600},
      {"Europe/Berlin", "2026-03-29T01:00:00Z", 7200},
      {"Europe/Berlin", "2026-10-25T00:59:59Z", 7200},
      {"Europe/Berlin", "2026-10-25T01:00:00Z", 3600},
      {"Europe/Berlin", "2050-03-27T00:59:59Z", 3600},  // beyond the table: footer rule
      {"Europe/Berlin", "2050-03-27T01:00:00Z", 7200},
      {"Europe/Berlin", "1900-01-01T00:00:00Z", 3600},
      {"America/New_York", "2026-01-15T12:00:00Z", -18000},
      {"America/New_York", "2026-03-08T06:59:59Z", -18000},
      {"America/New_York", "2026-03-08T07:00:00Z", -14400},
      {"America/New_York", "2026-11-01T05:59:59Z", -14400},
      {"America/New_York", "2026-11-01T06:00:00Z", -18000},
      {"America/New_York", "1883-01-01T00:00:00Z", -17762},  // local mean time, -4:56:02
      {"Australia/Sydney", "2026-01-15T00:00:00Z", 39600},
      {"Australia/Sydney", "2026-07-15T00:00:00Z", 36000},
      {"Australia/Lord_Howe", "2026-07-15T00:00:00Z", 37800},
      {"Asia/Kolkata", "2026-07-15T00:00:00Z", 19800},
      {"Asia/Kathmandu", "2026-07-15T00:00:00Z", 20700},
      {"America/St_Johns", "2026-01-15T00:00:00Z", -12600},
      {"Asia/Tokyo", "2026-07-15T00:00:00Z", 32400},
  };
  for (const OffsetCase& c : cases) {
    EXPECT_EQ(Zone(c.zone).utc_offset_at(Utc(c.at)), c.offset) << c.zone << " at " << c.at;
  }
}

// glibc reads the same files with its own code: compare every few hours over two centuries,
// and both sides of every transition. The process is single-threaded here, so switching TZ is
// safe in this test.
TEST(TimeZoneTest, AgreesWithGlibcLocaltime) {
  const char* zones[] = {"Europe/Berlin",       "America/New_York",  "Australia/Sydney",
                         "Australia/Lord_Howe", "America/Sao_Paulo", "Africa/Casablanca",
                         "Pacific/Apia",        "Europe/Dublin",     "Asia/Tehran"};
  const char* saved = std::getenv("TZ");
  const std::string saved_tz = saved ? saved : "";
  const auto glibc_offset = [](int64_t t) {
    const time_t time = static_cast<time_t>(t);
    struct tm tm {};
    localtime_r(&time, &tm);
    return static_cast<int32_t>(tm.tm_gmtoff);
  };
  for (const char* name : zones) {
    const TimeZone zone = Zone(name);
    setenv("TZ", name, 1);
    tzset();
    const int64_t first = Utc("1901-01-01T00:00:00Z");
    const int64_t last = Utc("2100-01-01T00:00:00Z");
    int mismatches = 0;
    for (int64_t t = first; t < last && mismatches < 5; t += 7 * kSecondsPerHour + 1187) {
      if (zone.utc_offset_at(t) != glibc_offset(t)) {
        ++mismatches;
        ADD_FAILURE() << name << " at " << format_rfc3339(t) << ": " << zone.utc_offset_at(t)
                      << " vs glibc " << glibc_offset(t);
      }
    }
    for (int64_t t = first; t < last && mismatches < 5;) {
      const OffsetSpan span = zone.span_at(t);
      ASSERT_GT(span.end, t);
      if (span.end >= last) break;
      t = span.end;
      if (zone.utc_offset_at(t - 1) != glibc_offset(t - 1) ||
          zone.utc_offset_at(t) != glibc_offset(t)) {
        ++mismatches;
        ADD_FAILURE() << name << " transition at " << format_rfc3339(t);
      }
    }
  }
  if (saved) {
    setenv("TZ", saved_tz.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
}

TEST(TimeZoneTest, SpansDescribeTransitions) {
  const TimeZone berlin = Zone("Europe/Berlin");
  const OffsetSpan summer = berlin.span_at(Utc("2026-07-01T00:00:00Z"));
  EXPECT_EQ(summer.begin, Utc("2026-03-29T01:00:00Z"));
  EXPECT_EQ(summer.end, Utc("2026-10-25T01:00:00Z"));
  EXPECT_EQ(summer.offset, 7200);
  EXPECT_EQ(summer.previous_offset, 3600);
  const OffsetSpan utc = TimeZone::utc().span_at(0);
  EXPECT_EQ(utc.begin, kBeginningOfTime);
  EXPECT_EQ(utc.end, kEndOfTime);
  EXPECT_EQ(utc.offset, 0);
}

TEST(TimeZoneTest, LocalLookupReportsGapsAndOverlaps) {
  const TimeZone berlin = Zone("Europe/Berlin");
  const LocalTimeLookup skipped = berlin.lookup_local(Local(2026, 3, 29, 2, 30));
  EXPECT_EQ(skipped.kind, LocalTimeLookup::Kind::kSkipped);
  EXPECT_EQ(skipped.earliest, Utc("2026-03-29T01:00:00Z"));
  EXPECT_EQ(skipped.latest, Utc("2026-03-29T01:00:00Z"));

  const LocalTimeLookup repeated = berlin.lookup_local(Local(2026, 10, 25, 2, 30));
  EXPECT_EQ(repeated.kind, LocalTimeLookup::Kind::kAmbiguous);
  EXPECT_EQ(repeated.earliest, Utc("2026-10-25T00:30:00Z"));
  EXPECT_EQ(repeated.latest, Utc("2026-10-25T01:30:00Z"));

  const LocalTimeLookup normal = berlin.lookup_local(Local(2026, 7, 1, 12, 0));
  EXPECT_EQ(normal.kind, LocalTimeLookup::Kind::kUnique);
  EXPECT_EQ(normal.earliest, Utc("2026-07-01T10:00:00Z"));

  // Edges: 02:00 is skipped, 03:00 exists; on the fall-back day 02:00 repeats, 03:00 does not.
  EXPECT_EQ(berlin.lookup_local(Local(2026, 3, 29, 2, 0)).kind, LocalTimeLookup::Kind::kSkipped);
  EXPECT_EQ(berlin.lookup_local(Local(2026, 3, 29, 3, 0)).kind, LocalTimeLookup::Kind::kUnique);
  EXPECT_EQ(berlin.lookup_local(Local(2026, 10, 25, 2, 0)).kind, LocalTimeLookup::Kind::kAmbiguous);
  EXPECT_EQ(berlin.lookup_local(Local(2026, 10, 25, 3, 0)).kind, LocalTimeLookup::Kind::kUnique);

  const TimeZone new_york = Zone("America/New_York");
  const LocalTimeLookup ny = new_york.lookup_local(Local(2026, 11, 1, 1, 30));
  EXPECT_EQ(ny.kind, LocalTimeLookup::Kind::kAmbiguous);
  EXPECT_EQ(ny.earliest, Utc("2026-11-01T05:30:00Z"));
  EXPECT_EQ(ny.latest, Utc("2026-11-01T06:30:00Z"));

  // Samoa skipped all of 2011-12-30 when it moved across the date line.
  const LocalTimeLookup apia = Zone("Pacific/Apia").lookup_local(Local(2011, 12, 30, 12, 0));
  EXPECT_EQ(apia.kind, LocalTimeLookup::Kind::kSkipped);
  EXPECT_EQ(apia.earliest, Utc("2011-12-30T10:00:00Z"));
}

TEST(TimeZoneTest, RejectsBadNames) {
  const char* invalid_names[] = {"",
                                 "../etc/passwd",
                                 "Europe/../../etc/passwd",
                                 "/etc/localtime",
                                 "Europe/Berlin\n",
                                 "Europe Berlin",
                                 "zone.tab"};
  for (const char* name : invalid_names) {
    Result<TimeZone> zone = TimeZone::load(name);
    ASSERT_FALSE(zone.ok()) << name;
    EXPECT_EQ(zone.error().code, ErrorCode::kInvalidArgument) << zone.error().describe();
  }
  EXPECT_NE(TimeZone::load("../x").error().message.find("must not contain \"..\""),
            std::string::npos);

  for (const char* name : {"Europe/Nowhere", "Mars/Olympus_Mons", "Europe"}) {
    Result<TimeZone> zone = TimeZone::load(name);
    ASSERT_FALSE(zone.ok()) << name;
    EXPECT_EQ(zone.error().code, ErrorCode::kNotFound) << zone.error().describe();
    EXPECT_NE(zone.error().message.find("unknown time zone"), std::string::npos);
  }
}

TEST(TimeZoneTest, RejectsFilesThatAreNotUsableTzif) {
  Result<TimeZone> garbage = TimeZone::from_tzif("Garbage", "this is not a zoneinfo file");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, ErrorCode::kDataLoss) << garbage.error().describe();
  EXPECT_EQ(garbage.error().message, "time zone \"Garbage\": not a TZif file");

  // A real file cut short.
  std::FILE* file = std::fopen("/usr/share/zoneinfo/Europe/Berlin", "rb");
  ASSERT_NE(file, nullptr);
  std::string bytes(4096, '\0');
  bytes.resize(std::fread(bytes.data(), 1, bytes.size(), file));
  std::fclose(file);
  ASSERT_TRUE(TimeZone::from_tzif("Europe/Berlin", bytes).ok());
  for (size_t length : {size_t{10}, size_t{44}, size_t{100}, bytes.size() / 2, bytes.size() - 2}) {
    Result<TimeZone> cut = TimeZone::from_tzif("Europe/Berlin", bytes.substr(0, length));
    ASSERT_FALSE(cut.ok()) << length;
    EXPECT_EQ(cut.error().code, ErrorCode::kDataLoss) << length << ": " << cut.error().describe();
  }

  Result<TimeZone> leap = TimeZone::load("right/Europe/Berlin");
  ASSERT_FALSE(leap.ok());
  if (leap.error().code != ErrorCode::kNotFound) {  // tzdata-legacy may not be installed
    EXPECT_EQ(leap.error().code, ErrorCode::kDataLoss);
    EXPECT_NE(leap.error().message.find("leap seconds"), std::string::npos);
  }
}

TEST(TimeZoneTest, UtcWorksWithoutTzdata) {
  for (const char* name : {"UTC", "Etc/UTC"}) {
    Result<TimeZone> zone = TimeZone::load(name, "/nonexistent/zoneinfo");
    ASSERT_TRUE(zone.ok()) << name;
    EXPECT_EQ(zone->utc_offset_at(Utc("2026-07-01T00:00:00Z")), 0);
  }
  EXPECT_EQ(TimeZone::load("Europe/Berlin", "/nonexistent/zoneinfo").error().code,
            ErrorCode::kNotFound);
}

// A "slim" TZif file: no transitions at all, everything comes from the footer rule.
std::string SlimTzif(const std::string& footer) {
  std::string header = "TZif2";
  header.append(15, '\0');
  const auto be32 = [](std::string* out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
  };
  // isutcnt isstdcnt leapcnt timecnt typecnt charcnt
  for (uint32_t count : {0u, 0u, 0u, 0u, 1u, 4u}) be32(&header, count);
  std::string block;
  be32(&block, 3600);  // utoff
  block.push_back(0);  // isdst
  block.push_back(0);  // desigidx
  block.append("CET", 4);
  return header + block + header + block + "\n" + footer + "\n";
}

TEST(TimeZoneTest, SlimFileUsesTheFooterRule) {
  Result<TimeZone> slim =
      TimeZone::from_tzif("Slim/Berlin", SlimTzif("CET-1CEST,M3.5.0,M10.5.0/3"));
  ASSERT_TRUE(slim.ok()) << slim.error().message;
  const TimeZone berlin = Zone("Europe/Berlin");
  for (int64_t t = Utc("1997-01-01T00:00:00Z"); t < Utc("2045-01-01T00:00:00Z"); t += 3607) {
    ASSERT_EQ(slim->utc_offset_at(t), berlin.utc_offset_at(t)) << format_rfc3339(t);
  }
  EXPECT_EQ(format_rfc3339(Parse("30 2 * * *").next_after(Utc("2026-03-28T12:00:00Z"), *slim)),
            "2026-03-29T01:00:00Z");

  Result<TimeZone> bad_footer = TimeZone::from_tzif("Bad", SlimTzif("CET-1CEST,M13.5.0,M10.5.0"));
  ASSERT_FALSE(bad_footer.ok());
  EXPECT_EQ(bad_footer.error().code, ErrorCode::kDataLoss) << bad_footer.error().describe();
}

TEST(PosixTzTest, RulesMatchTheZoneFiles) {
  const struct {
    const char* spec;
    const char* zone;
    int first_year;
  } cases[] = {{"EST5EDT,M3.2.0,M11.1.0", "America/New_York", 2007},
               {"AEST-10AEDT,M10.1.0,M4.1.0/3", "Australia/Sydney", 2008},
               {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "Australia/Lord_Howe", 2008},
               {"GMT0BST,M3.5.0/1,M10.5.0", "Europe/London", 1997},
               {"EST5EDT", "America/New_York", 2007}};  // no rule: the US default
  for (const auto& c : cases) {
    Result<TimeZone> posix = TimeZone::from_posix(c.spec);
    ASSERT_TRUE(posix.ok()) << c.spec << ": " << posix.error().message;
    const TimeZone zone = Zone(c.zone);
    for (int64_t t = civil_to_seconds({c.first_year, 1, 1, 0, 0, 0});
         t < Utc("2040-01-01T00:00:00Z"); t += 3607) {
      ASSERT_EQ(posix->utc_offset_at(t), zone.utc_offset_at(t)) << c.spec << " " << t;
    }
  }
}

TEST(PosixTzTest, ParsesOffsetsAndDayForms) {
  EXPECT_EQ(TimeZone::from_posix("<+0330>-3:30")->utc_offset_at(0), 12600);
  EXPECT_EQ(TimeZone::from_posix("<-03>3")->utc_offset_at(0), -10800);
  EXPECT_EQ(TimeZone::from_posix("UTC0")->utc_offset_at(0), 0);
  // Jn never counts Feb 29: J60 is March 1st every year. n counts it: 59 is Feb 29 in 2028.
  const PosixDateRule julian{PosixDateRule::Kind::kJulianNoLeap, 60, 1, 1, 0, 0};
  EXPECT_EQ(julian.local_seconds_in(2026), Local(2026, 3, 1, 0, 0));
  EXPECT_EQ(julian.local_seconds_in(2028), Local(2028, 3, 1, 0, 0));
  const PosixDateRule zero_based{PosixDateRule::Kind::kZeroBasedDay, 59, 1, 1, 0, 0};
  EXPECT_EQ(zero_based.local_seconds_in(2026), Local(2026, 3, 1, 0, 0));
  EXPECT_EQ(zero_based.local_seconds_in(2028), Local(2028, 2, 29, 0, 0));
  // M2.5.0 = last Sunday of February; times may exceed 24 h or be negative (RFC 8536).
  Result<PosixTz> extended = PosixTz::parse("XXX3YYY,M3.5.0/-1,M10.5.0/25");
  ASSERT_TRUE(extended.ok());
  EXPECT_EQ(extended->dst_start.local_seconds_in(2026), Local(2026, 3, 28, 23, 0));
  EXPECT_EQ(extended->dst_end.local_seconds_in(2026), Local(2026, 10, 26, 1, 0));
  // Permanent daylight time, the tzcode idiom.
  Result<TimeZone> permanent = TimeZone::from_posix("EST5EDT,0/0,J365/25");
  ASSERT_TRUE(permanent.ok());
  for (const char* at : {"2026-01-01T05:00:00Z", "2026-07-01T00:00:00Z", "2026-12-31T23:00:00Z"}) {
    EXPECT_EQ(permanent->utc_offset_at(Utc(at)), -14400) << at;
  }

  for (const char* bad : {"", "C", "CET", "CET-1CEST,", "CET-1CEST,M3.5.0",
                          "CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,M3.5.7,M10.5.0",
                          "CET-1CEST,J0,J365", "CET-1CEST,M3.5.0,M10.5.0x", "<+03-3", "CET-200"}) {
    Result<PosixTz> parsed = PosixTz::parse(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument)
        << bad << ": " << parsed.error().describe();
  }
}

TEST(TimeZoneTest, FormatsRfc3339) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(Utc("2026-03-29T01:00:00Z"), 7200), "2026-03-29T03:00:00+02:00");
  EXPECT_EQ(format_rfc3339(Utc("2026-01-01T03:30:00Z"), -12600), "2026-01-01T00:00:00-03:30");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59Z");
}

}  // namespace
}  // namespace kiln::cron
