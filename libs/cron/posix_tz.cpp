#include "cron/posix_tz.h"

#include <cctype>
#include <string>

#include "cron/civil.h"

namespace kiln::cron {
namespace {

// A cursor over the TZ string; every parse_* returns false on malformed input.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool done() const { return pos_ >= text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  bool consume(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }

  // "EST" (3+ letters) or "<+0330>" (quoted: letters, digits, '+', '-').
  bool parse_name() {
    if (consume('<')) {
      const size_t start = pos_;
      while (!done() && peek() != '>') {
        const char c = peek();
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-') return false;
        ++pos_;
      }
      return pos_ - start >= 3 && consume('>');
    }
    const size_t start = pos_;
    while (std::isalpha(static_cast<unsigned char>(peek()))) ++pos_;
    return pos_ - start >= 3;
  }

  // [+|-]hh[:mm[:ss]] with hh <= 167; the result keeps the written sign.
  bool parse_hms(int32_t* seconds) {
    int sign = 1;
    if (consume('-')) {
      sign = -1;
    } else {
      consume('+');
    }
    int hours = 0;
    int minutes = 0;
    int secs = 0;
    if (!parse_int(0, 167, &hours)) return false;
    if (consume(':')) {
      if (!parse_int(0, 59, &minutes)) return false;
      if (consume(':') && !parse_int(0, 59, &secs)) return false;
    }
    *seconds = sign * (hours * 3600 + minutes * 60 + secs);
    return true;
  }

  bool parse_date_rule(PosixDateRule* rule) {
    if (consume('J')) {
      rule->kind = PosixDateRule::Kind::kJulianNoLeap;
      if (!parse_int(1, 365, &rule->day)) return false;
    } else if (consume('M')) {
      rule->kind = PosixDateRule::Kind::kMonthWeekDay;
      if (!parse_int(1, 12, &rule->month) || !consume('.') || !parse_int(1, 5, &rule->week) ||
          !consume('.') || !parse_int(0, 6, &rule->weekday)) {
        return false;
      }
    } else {
      rule->kind = PosixDateRule::Kind::kZeroBasedDay;
      if (!parse_int(0, 365, &rule->day)) return false;
    }
    rule->time = 2 * 3600;
    return !consume('/') || parse_hms(&rule->time);
  }

 private:
  bool parse_int(int low, int high, int* out) {
    const size_t start = pos_;
    int64_t value = 0;
    while (std::isdigit(static_cast<unsigned char>(peek())) && pos_ - start < 4) {
      value = value * 10 + (text_[pos_] - '0');
      ++pos_;
    }
    if (pos_ == start || value < low || value > high) return false;
    *out = static_cast<int>(value);
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

Error bad_spec(std::string_view spec) {
  return make_error(ErrorCode::kInvalidArgument,
                    "invalid POSIX TZ string \"" + std::string(spec) + "\"");
}

}  // namespace

int64_t PosixDateRule::local_seconds_in(int64_t year) const {
  int64_t days = 0;
  switch (kind) {
    case Kind::kJulianNoLeap:
      // Day 60 is always March 1st, so in leap years everything from day 60 on moves by one.
      days = days_from_civil(year, 1, 1) + day - 1 + (is_leap_year(year) && day >= 60 ? 1 : 0);
      break;
    case Kind::kZeroBasedDay:
      days = days_from_civil(year, 1, 1) + day;
      break;
    case Kind::kMonthWeekDay: {
      const int64_t first = days_from_civil(year, month, 1);
      const int first_weekday = weekday_from_days(first);
      int64_t day_of_month = 1 + (weekday - first_weekday + 7) % 7 + 7 * (week - 1);
      while (day_of_month > days_in_month(year, month)) day_of_month -= 7;  // week 5 = last
      days = first + day_of_month - 1;
      break;
    }
  }
  return days * kSecondsPerDay + time;
}

Result<PosixTz> PosixTz::parse(std::string_view spec) {
  Cursor in(spec);
  PosixTz tz;
  int32_t posix_offset = 0;
  if (!in.parse_name() || !in.parse_hms(&posix_offset)) return bad_spec(spec);
  tz.std_offset = -posix_offset;
  if (in.done()) return tz;

  if (!in.parse_name()) return bad_spec(spec);
  tz.has_dst = true;
  tz.dst_offset = tz.std_offset + 3600;
  if (!in.done() && in.peek() != ',') {
    if (!in.parse_hms(&posix_offset)) return bad_spec(spec);
    tz.dst_offset = -posix_offset;
  }
  if (in.done()) {
    // No rule: tzcode's default, the US rule since 2007.
    tz.dst_start = PosixDateRule{PosixDateRule::Kind::kMonthWeekDay, 0, 3, 2, 0, 2 * 3600};
    tz.dst_end = PosixDateRule{PosixDateRule::Kind::kMonthWeekDay, 0, 11, 1, 0, 2 * 3600};
    return tz;
  }
  if (!in.consume(',') || !in.parse_date_rule(&tz.dst_start) || !in.consume(',') ||
      !in.parse_date_rule(&tz.dst_end) || !in.done()) {
    return bad_spec(spec);
  }
  return tz;
}

int32_t PosixTz::offset_at(int64_t unix_seconds) const {
  if (!has_dst) return std_offset;
  // The year by local standard time, so transitions near New Year land in the right year.
  const int64_t year = civil_from_days(floor_div(unix_seconds + std_offset, kSecondsPerDay)).year;
  const int64_t start = dst_start_at(year);
  const int64_t end = dst_end_at(year);
  const bool in_dst = start < end ? (start <= unix_seconds && unix_seconds < end)
                                  : !(end <= unix_seconds && unix_seconds < start);  // south
  return in_dst ? dst_offset : std_offset;
}

}  // namespace kiln::cron
