// kiln::cron::TimeZone — an IANA time zone read from its TZif file (RFC 8536) under
// /usr/share/zoneinfo.
//
// Why not the standard library: GCC 12's libstdc++ has no std::chrono::tzdb / zoned_time, and
// localtime_r depends on the process-wide TZ variable, which cannot be switched safely while
// other threads run. A TimeZone is an immutable value: load it once, copy it, and share it across
// threads freely.
//
// What is read: the 64-bit (v2+) section's transitions and UTC offsets, and the footer's POSIX TZ
// rule (posix_tz.h), which governs every instant after the last transition — "slim" zoneinfo
// files end their table early and rely on it. Version 1 files use the 32-bit section. Files with
// leap-second records (the "right/" zones) are refused: their timestamps are not Unix time.
//
// Errors follow kiln::Result (libs/common/result.h): load() returns kInvalidArgument for a
// malformed name (empty, absolute, containing "..", or characters outside [A-Za-z0-9_+-/]),
// kNotFound for a zone with no file, and kDataLoss for a file that is not valid TZif.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "cron/posix_tz.h"

namespace kiln::cron {

inline constexpr int64_t kBeginningOfTime = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kEndOfTime = std::numeric_limits<int64_t>::max();

// A maximal stretch [begin, end) of Unix seconds during which the UTC offset is constant.
struct OffsetSpan {
  int64_t begin = kBeginningOfTime;  // the transition that started the span
  int64_t end = kEndOfTime;          // the next transition (exclusive)
  int32_t offset = 0;                // seconds east of UTC during the span
  // The offset just before `begin`. Equal to `offset` when `begin` is not a real transition
  // (kBeginningOfTime, or an artificial cut), so a difference always means a real transition:
  // greater = clocks jumped forward (a gap), smaller = clocks jumped back (an overlap).
  int32_t previous_offset = 0;
};

// How a wall-clock time (local seconds, see civil.h) maps to instants.
struct LocalTimeLookup {
  enum class Kind {
    kUnique,     // exactly one instant shows this wall-clock time
    kSkipped,    // none: clocks jumped over it (spring forward)
    kAmbiguous,  // two: clocks showed it twice (fall back)
  };
  Kind kind = Kind::kUnique;
  // kUnique: the instant. kAmbiguous: the first occurrence. kSkipped: the instant the gap ends,
  // i.e. the transition itself (02:30 in a 02:00→03:00 gap maps to the instant of 03:00).
  int64_t earliest = 0;
  // kAmbiguous: the second occurrence; otherwise equal to `earliest`.
  int64_t latest = 0;
};

class TimeZone {
 public:
  static constexpr std::string_view kDefaultZoneInfoDir = "/usr/share/zoneinfo";

  // Loads `name` (e.g. "Europe/Berlin", "UTC") from /usr/share/zoneinfo. "UTC" and "Etc/UTC"
  // work even on a system without tzdata.
  static Result<TimeZone> load(std::string_view name);
  static Result<TimeZone> load(std::string_view name, std::string_view zoneinfo_dir);
  // Parses the bytes of a TZif file; `name` is only remembered.
  static Result<TimeZone> from_tzif(std::string name, std::string_view data);
  // A zone defined by a POSIX TZ string alone, e.g. "EST5EDT,M3.2.0,M11.1.0".
  static Result<TimeZone> from_posix(std::string_view spec);
  static TimeZone utc();

  const std::string& name() const { return name_; }

  // Seconds east of UTC in effect at `unix_seconds` (Europe/Berlin in summer: 7200).
  int32_t utc_offset_at(int64_t unix_seconds) const;
  // The constant-offset span containing `unix_seconds`.
  OffsetSpan span_at(int64_t unix_seconds) const;
  // Local → UTC: which instants show the wall-clock time `local_seconds`.
  LocalTimeLookup lookup_local(int64_t local_seconds) const;

 private:
  struct Transition {
    int64_t at;      // Unix seconds
    int32_t offset;  // offset from `at` on
  };

  TimeZone() = default;
  OffsetSpan footer_span_at(int64_t unix_seconds) const;

  std::string name_;
  int32_t initial_offset_ = 0;           // before the first transition (TZif time type 0)
  std::vector<Transition> transitions_;  // ascending; only real offset changes are kept
  std::optional<PosixTz> footer_;        // rule for instants at/after the last transition
};

// "2026-03-29T01:00:00Z", or with a nonzero offset "2026-03-29T03:00:00+02:00".
std::string format_rfc3339(int64_t unix_seconds, int32_t utc_offset = 0);

}  // namespace kiln::cron
