// POSIX TZ strings such as "CET-1CEST,M3.5.0,M10.5.0/3" — the footer of a TZif v2+ file, which
// gives the local time rule for instants after the file's last explicit transition. Modern
// "slim" zoneinfo files stop their transition table in the 1990s or 2000s and rely on this rule
// for every later year, so kiln cannot evaluate a schedule correctly without it.
//
// Grammar (POSIX.1 "TZ", with the RFC 8536 extensions: hours up to 167 and negative rule times):
//   std offset [dst [offset] [,start[/time],end[/time]]]
//   names:   3+ letters, or <...> quoted (e.g. <+0330>)
//   offset:  [+|-]hh[:mm[:ss]], positive WEST of Greenwich (the opposite of a UTC offset)
//   start/end: Jn (1..365, Feb 29 never counted) | n (0..365, Feb 29 counted) | Mm.w.d
//              (month m, week w 1..5 where 5 is "last", weekday d 0=Sunday)
//   time:    [+|-]hh[:mm[:ss]] of local time, default 02:00:00
// A dst name without a rule means the US rule "M3.2.0,M11.1.0", as in tzcode.
//
// Errors follow kiln::Result (libs/common/result.h): kInvalidArgument naming the problem.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace kiln::cron {

// One end of the daylight-saving period: a day in the year and a local time on it.
struct PosixDateRule {
  enum class Kind { kJulianNoLeap, kZeroBasedDay, kMonthWeekDay };
  Kind kind = Kind::kMonthWeekDay;
  int day = 0;              // kJulianNoLeap: 1..365; kZeroBasedDay: 0..365
  int month = 1;            // kMonthWeekDay
  int week = 1;             // kMonthWeekDay: 1..5, 5 = last
  int weekday = 0;          // kMonthWeekDay: 0 = Sunday
  int32_t time = 2 * 3600;  // seconds after local midnight; may be negative or exceed a day

  // Local seconds (see civil.h) at which the rule fires in `year`.
  int64_t local_seconds_in(int64_t year) const;
};

struct PosixTz {
  int32_t std_offset = 0;  // seconds EAST of UTC (already sign-flipped from the string)
  bool has_dst = false;
  int32_t dst_offset = 0;
  PosixDateRule dst_start;  // given in local standard time
  PosixDateRule dst_end;    // given in local daylight time

  static Result<PosixTz> parse(std::string_view spec);

  int32_t offset_at(int64_t unix_seconds) const;
  // Instants (Unix seconds) at which daylight time starts and ends in `year`.
  int64_t dst_start_at(int64_t year) const { return dst_start.local_seconds_in(year) - std_offset; }
  int64_t dst_end_at(int64_t year) const { return dst_end.local_seconds_in(year) - dst_offset; }
};

}  // namespace kiln::cron
