#include "cron/cron.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>

namespace kiln::cron {
namespace {

// Searches run from year 1 to year 9999, which keeps every intermediate value far from overflow.
constexpr int64_t kFirstSupported = civil_to_seconds({1, 1, 1, 0, 0, 0});
constexpr int64_t kLastSupported = civil_to_seconds({9999, 12, 31, 23, 59, 59});
// Every schedule that parse() accepts fires within a Gregorian cycle (400 years): the rarest
// one, a Feb 29 that must also be some weekday, recurs within about 40.
constexpr int64_t kSearchHorizon = 400 * 366 * kSecondsPerDay;

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"SUN", "MON", "TUE", "WED",
                                                           "THU", "FRI", "SAT"};

struct Field {
  std::string_view name;
  int low;
  int high;                                 // highest value accepted in the text
  int star_high;                            // highest value that '*' covers
  const std::string_view* names = nullptr;  // names[i] means value low + i
  size_t name_count = 0;
  bool seven_is_sunday = false;  // day-of-week: 7 is another spelling of 0
};

constexpr Field kMinute{"minute", 0, 59, 59};
constexpr Field kHour{"hour", 0, 23, 23};
constexpr Field kDayOfMonth{"day-of-month", 1, 31, 31};
constexpr Field kMonth{"month", 1, 12, 12, kMonthNames.data(), kMonthNames.size()};
// 7 is accepted as Sunday but '*' stops at 6 so that "*/2" does not add Sunday twice.
constexpr Field kDayOfWeek{"day-of-week",        0,   7, 6, kWeekdayNames.data(),
                           kWeekdayNames.size(), true};

struct Macro {
  std::string_view name;
  std::string_view expansion;
};
constexpr std::array<Macro, 7> kMacros = {{{"@yearly", "0 0 1 1 *"},
                                           {"@annually", "0 0 1 1 *"},
                                           {"@monthly", "0 0 1 * *"},
                                           {"@weekly", "0 0 * * 0"},
                                           {"@daily", "0 0 * * *"},
                                           {"@midnight", "0 0 * * *"},
                                           {"@hourly", "0 * * * *"}}};

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

Error field_error(const Field& field, const std::string& detail) {
  return invalid(std::string(field.name) + ": " + detail);
}

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == separator) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

std::vector<std::string_view> split_whitespace(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    const size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) parts.push_back(text.substr(start, i - start));
  }
  return parts;
}

// A number or (for month and day-of-week) a three-letter name.
Result<int> parse_value(const Field& field, std::string_view token) {
  if (all_digits(token)) {
    // Compare as text-length first so huge numbers cannot overflow.
    const int value = token.size() > 4 ? field.high + 1 : std::stoi(std::string(token));
    if (value < field.low || value > field.high) {
      return field_error(field, "value " + std::string(token) + " out of range " +
                                    std::to_string(field.low) + "-" + std::to_string(field.high));
    }
    return value;
  }
  if (field.names != nullptr && token.size() == 3) {
    std::string upper(token);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (size_t i = 0; i < field.name_count; ++i) {
      if (field.names[i] == upper) return field.low + static_cast<int>(i);
    }
  }
  if (field.names != nullptr && std::all_of(token.begin(), token.end(), [](char c) {
        return std::isalpha(static_cast<unsigned char>(c));
      })) {
    return field_error(field, "unknown name " + quoted(token) + " (expected " +
                                  std::string(field.names[0]) + "-" +
                                  std::string(field.names[field.name_count - 1]) + ")");
  }
  return field_error(field, "invalid value " + quoted(token));
}

// One list element: "*", "N", "N-M", each optionally followed by "/S"; "N/S" means N-max/S.
Result<uint64_t> parse_element(const Field& field, std::string_view element) {
  const std::vector<std::string_view> slash = split(element, '/');
  if (slash.size() > 2) return field_error(field, "invalid step in " + quoted(element));
  const std::string_view base = slash[0];
  int step = 1;
  if (slash.size() == 2) {
    const int max_step = field.star_high - field.low + 1;
    if (!all_digits(slash[1])) {
      return field_error(field, "invalid step " + quoted(slash[1]) + " in " + quoted(element));
    }
    step = slash[1].size() > 4 ? max_step + 1 : std::stoi(std::string(slash[1]));
    if (step < 1 || step > max_step) {
      return field_error(
          field, "step " + std::string(slash[1]) + " out of range 1-" + std::to_string(max_step));
    }
  }

  int first = field.low;
  int last = field.star_high;
  if (base != "*") {
    const std::vector<std::string_view> dash = split(base, '-');
    if (dash.size() > 2 || dash[0].empty() || (dash.size() == 2 && dash[1].empty())) {
      return field_error(field, "invalid range " + quoted(base));
    }
    Result<int> start = parse_value(field, dash[0]);
    if (!start.ok()) return start.error();
    first = *start;
    last = slash.size() == 2 ? field.high : first;
    if (dash.size() == 2) {
      Result<int> end = parse_value(field, dash[1]);
      if (!end.ok()) return end.error();
      last = *end;
      // "FRI-SUN": Sunday as the end of a day-of-week range is day 7.
      if (field.seven_is_sunday && last == 0 && first > 0) last = 7;
      if (first > last) {
        return field_error(field, "range " + std::string(base) + " has start after end");
      }
    }
  }

  uint64_t bits = 0;
  for (int value = first; value <= last; value += step) {
    const int normalized = (field.seven_is_sunday && value == 7) ? 0 : value;
    bits |= uint64_t{1} << normalized;
  }
  return bits;
}

Result<uint64_t> parse_field(const Field& field, std::string_view text) {
  uint64_t bits = 0;
  for (const std::string_view element : split(text, ',')) {
    if (element.empty()) return field_error(field, "empty list element in " + quoted(text));
    Result<uint64_t> element_bits = parse_element(field, element);
    if (!element_bits.ok()) return element_bits.error();
    bits |= *element_bits;
  }
  return bits;
}

bool has_bit(uint64_t bits, int n) { return (bits >> n) & 1; }

// The smallest set bit >= from, or -1.
int next_bit(uint64_t bits, int from) {
  if (from >= 64) return -1;
  const uint64_t rest = bits >> from;
  return rest == 0 ? -1 : from + std::countr_zero(rest);
}

}  // namespace

Result<Schedule> Schedule::parse(std::string_view expression) {
  const std::vector<std::string_view> words = split_whitespace(expression);
  if (words.empty()) return invalid("empty cron expression");

  std::string_view fields_text = expression;
  if (words[0].front() == '@') {
    const std::string macro = to_lower(words[0]);
    if (macro == "@reboot") return invalid("@reboot is not supported (it is not a schedule)");
    const auto found = std::find_if(kMacros.begin(), kMacros.end(),
                                    [&](const Macro& m) { return m.name == macro; });
    if (found == kMacros.end()) {
      return invalid("unknown macro " + quoted(words[0]) +
                     " (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or "
                     "@hourly)");
    }
    if (words.size() > 1) return invalid("unexpected text after " + std::string(words[0]));
    fields_text = found->expansion;
  }
  const std::vector<std::string_view> fields = split_whitespace(fields_text);
  if (fields.size() != 5) {
    return invalid("expected 5 fields (minute hour day-of-month month day-of-week), got " +
                   std::to_string(fields.size()));
  }

  Schedule schedule;
  const std::array<const Field*, 5> specs = {&kMinute, &kHour, &kDayOfMonth, &kMonth, &kDayOfWeek};
  std::array<uint64_t, 5> bits{};
  for (size_t i = 0; i < specs.size(); ++i) {
    Result<uint64_t> parsed = parse_field(*specs[i], fields[i]);
    if (!parsed.ok()) return parsed.error();
    bits[i] = *parsed;
  }
  schedule.minutes_ = bits[0];
  schedule.hours_ = static_cast<uint32_t>(bits[1]);
  schedule.days_of_month_ = static_cast<uint32_t>(bits[2]);
  schedule.months_ = static_cast<uint32_t>(bits[3]);
  schedule.days_of_week_ = static_cast<uint32_t>(bits[4]);
  schedule.day_of_month_star_ = fields[2].front() == '*';
  schedule.day_of_week_star_ = fields[4].front() == '*';

  // Only day-of-month can make a schedule impossible (weekdays occur in every month, and a
  // '*'-led day-of-month always includes the 1st): "30 2" or "31 4,6,9,11".
  if (schedule.day_of_week_star_ && !schedule.day_of_month_star_) {
    bool possible = false;
    for (int month = 1; month <= 12; ++month) {
      const int max_day = month == 2 ? 29 : days_in_month(2001, month);
      const uint32_t days_that_exist = (uint32_t{2} << max_day) - 2;  // bits 1..max_day
      if (has_bit(schedule.months_, month) && (schedule.days_of_month_ & days_that_exist) != 0) {
        possible = true;
      }
    }
    if (!possible) {
      return invalid("day-of-month: " + quoted(fields[2]) + " never occurs in month " +
                     quoted(fields[3]) + ", so the schedule would never fire");
    }
  }

  const size_t begin = expression.find_first_not_of(" \t");
  const size_t end = expression.find_last_not_of(" \t");
  schedule.expression_ = std::string(expression.substr(begin, end - begin + 1));
  return schedule;
}

bool Schedule::day_matches(const CivilDate& date, int weekday) const {
  const bool dom = has_bit(days_of_month_, date.day);
  const bool dow = has_bit(days_of_week_, weekday);
  // Vixie cron: both restricted means either may match.
  return (day_of_month_star_ || day_of_week_star_) ? (dom && dow) : (dom || dow);
}

bool Schedule::matches(const CivilTime& local) const {
  const int64_t days = days_from_civil(local.year, local.month, local.day);
  return has_bit(minutes_, local.minute) && has_bit(hours_, local.hour) &&
         has_bit(months_, local.month) &&
         day_matches({local.year, local.month, local.day}, weekday_from_days(days));
}

std::optional<int64_t> Schedule::first_match(int64_t local_begin, int64_t local_end) const {
  // Round up to a whole minute, then skip by month, day, hour and minute: a mismatching month
  // costs one step, a mismatching day one step, so even "0 0 29 2 *" takes a few hundred steps.
  const int64_t start =
      floor_div(local_begin + kSecondsPerMinute - 1, kSecondsPerMinute) * kSecondsPerMinute;
  int64_t day = floor_div(start, kSecondsPerDay);
  int hour = static_cast<int>((start - day * kSecondsPerDay) / kSecondsPerHour);
  int minute = static_cast<int>((start - day * kSecondsPerDay) % kSecondsPerHour / 60);
  CivilDate date = civil_from_days(day);
  const auto next_day = [&] {
    ++day;
    date = civil_from_days(day);
    hour = 0;
    minute = 0;
  };

  while (true) {
    const int64_t candidate = day * kSecondsPerDay + hour * kSecondsPerHour + minute * 60;
    if (candidate >= local_end) return std::nullopt;
    if (!has_bit(months_, date.month)) {
      int month = next_bit(months_, date.month + 1);
      int64_t year = date.year;
      if (month < 0) {
        month = next_bit(months_, 1);
        ++year;
      }
      date = {year, month, 1};
      day = days_from_civil(year, month, 1);
      hour = 0;
      minute = 0;
      continue;
    }
    if (!day_matches(date, weekday_from_days(day))) {
      next_day();
      continue;
    }
    const int matching_hour = next_bit(hours_, hour);
    if (matching_hour < 0) {
      next_day();
      continue;
    }
    if (matching_hour != hour) {
      hour = matching_hour;
      minute = 0;
    }
    const int matching_minute = next_bit(minutes_, minute);
    if (matching_minute < 0) {
      minute = 0;
      if (++hour == 24) next_day();
      continue;
    }
    minute = matching_minute;
    const int64_t match = day * kSecondsPerDay + hour * kSecondsPerHour + minute * 60;
    return match < local_end ? std::optional<int64_t>(match) : std::nullopt;
  }
}

int64_t Schedule::next_after(int64_t unix_seconds, const TimeZone& zone) const {
  if (unix_seconds >= kLastSupported) return kNever;
  int64_t from = std::max(unix_seconds, kFirstSupported) + 1;
  const int64_t limit = std::min(from + kSearchHorizon, kLastSupported + 1);
  const bool wall_clock = !follows_elapsed_time();
  // Walk the zone's constant-offset spans; inside one, wall-clock time is UTC plus a constant,
  // so the search is a plain calendar search on local seconds.
  while (from < limit) {
    const OffsetSpan span = zone.span_at(from);
    const int64_t end = std::min(span.end, limit);
    int64_t local_begin = from + span.offset;
    if (wall_clock && span.offset != span.previous_offset) {
      const int64_t clock_before = span.begin + span.previous_offset;  // wall clock at the jump
      const int64_t clock_after = span.begin + span.offset;
      if (span.offset > span.previous_offset) {
        // Spring forward: [clock_before, clock_after) never shows; matches in it fire once,
        // when the gap ends.
        if (span.begin >= from && first_match(clock_before, clock_after)) return span.begin;
      } else {
        // Fall back: [clock_after, clock_before) shows again; it fired in the first pass.
        local_begin = std::max(local_begin, clock_before);
      }
    }
    if (const std::optional<int64_t> local = first_match(local_begin, end + span.offset)) {
      return *local - span.offset;
    }
    from = end;
  }
  return kNever;
}

std::optional<int64_t> Schedule::last_fire_in(int64_t after, int64_t until,
                                              const TimeZone& zone) const {
  // Look back through windows (until - window, until] of doubling size until one holds a fire,
  // then bisect for the last one: lo always has a fire in (lo, until], hi never does.
  after = std::max(after, kFirstSupported - 1);
  until = std::min(until, kLastSupported);
  if (until <= after) return std::nullopt;
  // Both ends lie within years 1..9999, so none of the differences below can overflow.
  for (int64_t window = kSecondsPerHour;; window *= 2) {
    const int64_t lo_candidate = until - window;
    int64_t lo = lo_candidate <= after ? after : lo_candidate;
    if (next_after(lo, zone) <= until) {
      int64_t hi = until;
      while (hi - lo > 1) {
        const int64_t mid = lo + (hi - lo) / 2;
        (next_after(mid, zone) <= until ? lo : hi) = mid;
      }
      return next_after(lo, zone);
    }
    if (lo == after) return std::nullopt;
  }
}

std::vector<int64_t> Schedule::fires_between(int64_t after, int64_t until, const TimeZone& zone,
                                             size_t max_fires) const {
  std::vector<int64_t> fires;
  for (int64_t t = next_after(after, zone); t != kNever && t <= until && fires.size() < max_fires;
       t = next_after(t, zone)) {
    fires.push_back(t);
  }
  return fires;
}

}  // namespace kiln::cron
