// kiln::cron::Schedule — standard 5-field cron expressions evaluated in an IANA time zone.
//
// Syntax: "minute hour day-of-month month day-of-week", fields separated by spaces or tabs.
//   minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or JAN-DEC,
//   day-of-week 0-7 or SUN-SAT (0 and 7 are both Sunday); names are case-insensitive.
//   Each field is a comma-separated list of:  *   N   N-M   */S   N-M/S   N/S (= N-max/S).
//   In day-of-week, a range may end on Sunday: FRI-SUN and 5-7 both mean Fri, Sat, Sun.
//   Macros: @yearly = @annually = "0 0 1 1 *", @monthly = "0 0 1 * *", @weekly = "0 0 * * 0",
//   @daily = @midnight = "0 0 * * *", @hourly = "0 * * * *". (@reboot is not a schedule.)
// Day matching follows Vixie cron: if day-of-month and day-of-week are both restricted (neither
// field starts with '*'), a day matches when EITHER matches ("0 0 13 * FRI" = every 13th and every
// Friday); otherwise both must match (so "*/2" counts as unrestricted, as in Vixie cron).
// An expression that can never fire ("0 0 30 2 *") is rejected.
//
// Errors follow kiln::Result (libs/common/result.h): parse() returns Error{kInvalidArgument, msg}
// where msg names the field and the offending token, e.g. "minute: value 61 out of range 0-59".
//
// Daylight-saving time. Fire times are wall-clock times in the schedule's zone; when the clocks
// change, kiln follows what users of cronie / Vixie cron expect:
//   * Jobs whose hour field covers every hour ("*/15 * * * *", "0 * * * *", "5 * * * MON") run
//     by elapsed time: they fire at every instant whose wall-clock time matches. In a repeated
//     (fall-back) hour they fire in both passes; minutes skipped by spring-forward simply do not
//     exist, and the job continues with the next wall-clock match, so the real interval between
//     fires stays what it always is.
//   * All other jobs ("30 2 * * *", "0 9-17 * * MON-FRI") run once per matching wall-clock time:
//     a time that occurs twice fires only at its first occurrence; a time skipped by a
//     spring-forward gap fires once at the instant the gap ends (02:30 in a 02:00→03:00 gap fires
//     at 03:00 — it neither vanishes nor fires twice). Several skipped matches, and a match at the
//     gap's end itself, collapse into that one fire.
// The fire times form a fixed set of instants; next_after() returns the least one strictly after
// its argument, so repeated calls never return an instant twice and always progress.
//
// Schedule is an immutable value, safe to share across threads. All times are Unix seconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "cron/civil.h"
#include "cron/time_zone.h"

namespace kiln::cron {

// Returned by next_after() when nothing fires before the supported end (year 9999).
inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

class Schedule {
 public:
  static Result<Schedule> parse(std::string_view expression);

  // The expression as given (trimmed), e.g. "@daily" or "*/15 * * * *".
  const std::string& expression() const { return expression_; }

  // The first fire strictly after `unix_seconds`, or kNever.
  int64_t next_after(int64_t unix_seconds, const TimeZone& zone) const;

  // The last fire in (after, until], or nullopt when there is none. For catch-up after downtime:
  // one call, O(log(until - after)) searches, however many ticks were missed.
  std::optional<int64_t> last_fire_in(int64_t after, int64_t until, const TimeZone& zone) const;

  // The fires in (after, until] in ascending order, at most `max_fires` of them.
  std::vector<int64_t> fires_between(int64_t after, int64_t until, const TimeZone& zone,
                                     size_t max_fires) const;

  // Whether the wall-clock time matches all five fields (ignoring time zones and DST).
  bool matches(const CivilTime& local) const;

  // True when the hour field covers every hour: the job follows elapsed time across DST changes
  // (see the rule above).
  bool follows_elapsed_time() const { return hours_ == kAllHours; }

 private:
  static constexpr uint32_t kAllHours = (1u << 24) - 1;

  Schedule() = default;
  bool day_matches(const CivilDate& date, int weekday) const;
  // The first whole local minute in [local_begin, local_end) matching all fields.
  std::optional<int64_t> first_match(int64_t local_begin, int64_t local_end) const;

  std::string expression_;
  uint64_t minutes_ = 0;        // bit n = minute n
  uint32_t hours_ = 0;          // bit n = hour n
  uint32_t days_of_month_ = 0;  // bit n = day n (1..31)
  uint32_t months_ = 0;         // bit n = month n (1..12)
  uint32_t days_of_week_ = 0;   // bit n = weekday n (0 = Sunday .. 6)
  bool day_of_month_star_ = false;
  bool day_of_week_star_ = false;
};

}  // namespace kiln::cron
