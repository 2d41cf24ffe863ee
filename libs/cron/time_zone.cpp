#include "cron/time_zone.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "cron/civil.h"

namespace kiln::cron {
namespace {

// Real zoneinfo files are a few KiB; anything much bigger is not one.
constexpr std::uintmax_t kMaxTzifBytes = 1 << 20;
// No time zone has ever been more than 26 hours from UTC; used to bound local→UTC searches.
constexpr int64_t kMaxOffsetSeconds = 26 * kSecondsPerHour;

Error data_error(const std::string& name, const std::string& what) {
  return make_error(ErrorCode::kDataLoss, "time zone \"" + name + "\": " + what);
}

// Big-endian reads over the file bytes; every read fails cleanly at the end of the data.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  bool skip(uint64_t n) {
    if (n > data_.size() - pos_) return false;
    pos_ += n;
    return true;
  }
  bool read_bytes(size_t n, std::string_view* out) {
    if (n > data_.size() - pos_) return false;
    *out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool read_u8(uint8_t* out) {
    if (pos_ >= data_.size()) return false;
    *out = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool read_be(int width, int64_t* out) {
    uint64_t value = 0;
    for (int i = 0; i < width; ++i) {
      uint8_t byte = 0;
      if (!read_u8(&byte)) return false;
      value = (value << 8) | byte;
    }
    // Sign-extend 32-bit values; 64-bit values convert as two's complement.
    *out = width == 4 ? static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(value)))
                      : static_cast<int64_t>(value);
    return true;
  }
  std::string_view rest() const { return data_.substr(pos_); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

struct TzifHeader {
  char version = 0;  // 0, '2', '3' or '4'
  int64_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;

  // Size of the data block that follows, with `time_size`-byte transition times.
  int64_t block_size(int time_size) const {
    return timecnt * time_size + timecnt + typecnt * 6 + charcnt + leapcnt * (time_size + 4) +
           isstdcnt + isutcnt;
  }
};

bool read_header(ByteReader* in, TzifHeader* header) {
  std::string_view magic;
  uint8_t version = 0;
  if (!in->read_bytes(4, &magic) || magic != "TZif" || !in->read_u8(&version) || !in->skip(15)) {
    return false;
  }
  header->version = static_cast<char>(version);
  for (int64_t* count : {&header->isutcnt, &header->isstdcnt, &header->leapcnt, &header->timecnt,
                         &header->typecnt, &header->charcnt}) {
    if (!in->read_be(4, count) || *count < 0) return false;
  }
  return true;
}

struct TzifData {
  std::vector<int64_t> times;
  std::vector<uint8_t> type_indices;
  std::vector<int32_t> type_offsets;
};

// Reads one data block; only transitions and offsets matter for scheduling.
bool read_block(ByteReader* in, const TzifHeader& header, int time_size, TzifData* data) {
  for (int64_t i = 0; i < header.timecnt; ++i) {
    int64_t at = 0;
    if (!in->read_be(time_size, &at)) return false;
    if (!data->times.empty() && at <= data->times.back()) return false;  // must ascend
    data->times.push_back(at);
  }
  for (int64_t i = 0; i < header.timecnt; ++i) {
    uint8_t index = 0;
    if (!in->read_u8(&index) || index >= header.typecnt) return false;
    data->type_indices.push_back(index);
  }
  for (int64_t i = 0; i < header.typecnt; ++i) {
    int64_t utoff = 0;
    if (!in->read_be(4, &utoff) || !in->skip(2)) return false;  // skip isdst, desigidx
    if (utoff < -kMaxOffsetSeconds || utoff > kMaxOffsetSeconds) return false;
    data->type_offsets.push_back(static_cast<int32_t>(utoff));
  }
  return in->skip(header.charcnt + header.leapcnt * (time_size + 4) + header.isstdcnt +
                  header.isutcnt);
}

bool valid_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '+' || c == '-' || c == '/';
}

Status check_zone_name(std::string_view name) {
  const auto invalid = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument,
                      "time zone \"" + std::string(name) + "\": " + why);
  };
  if (name.empty()) return invalid("empty name");
  if (name.size() > 255) return invalid("name too long");
  if (name.find("..") != std::string_view::npos) return invalid("name must not contain \"..\"");
  if (name.front() == '/') return invalid("name must not be an absolute path");
  if (!std::all_of(name.begin(), name.end(), valid_name_char)) {
    return invalid("name has characters outside [A-Za-z0-9_+-/]");
  }
  return {};
}

}  // namespace

Result<TimeZone> TimeZone::load(std::string_view name) { return load(name, kDefaultZoneInfoDir); }

Result<TimeZone> TimeZone::load(std::string_view name, std::string_view zoneinfo_dir) {
  if (Status status = check_zone_name(name); !status.ok()) return status.error();
  const std::filesystem::path path =
      std::filesystem::path(zoneinfo_dir) / std::filesystem::path(name);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    if (name == "UTC" || name == "Etc/UTC") return utc();  // minimal images ship no tzdata
    return make_error(ErrorCode::kNotFound,
                      "unknown time zone \"" + std::string(name) + "\" (no " + path.string() + ")");
  }
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxTzifBytes) return data_error(std::string(name), "file too large");
  std::ifstream file(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (!file.good() && !file.eof()) return data_error(std::string(name), "cannot read file");
  return from_tzif(std::string(name), bytes);
}

Result<TimeZone> TimeZone::from_tzif(std::string name, std::string_view data) {
  ByteReader in(data);
  TzifHeader header;
  if (!read_header(&in, &header)) return data_error(name, "not a TZif file");
  if (header.leapcnt > 0) {
    return data_error(name, "files with leap seconds (\"right/\" zones) are not supported");
  }
  if (header.typecnt == 0) return data_error(name, "no local time types");

  TzifData tzif;
  std::optional<PosixTz> footer;
  if (header.version == 0) {
    if (!read_block(&in, header, 4, &tzif)) return data_error(name, "truncated or corrupt data");
  } else {
    // Version 2+: skip the 32-bit block, then read the 64-bit header, block and footer.
    if (!in.skip(static_cast<uint64_t>(header.block_size(4))) || !read_header(&in, &header) ||
        !read_block(&in, header, 8, &tzif)) {
      return data_error(name, "truncated or corrupt data");
    }
    if (header.leapcnt > 0) {
      return data_error(name, "files with leap seconds (\"right/\" zones) are not supported");
    }
    const std::string_view rest = in.rest();
    const size_t end = rest.find('\n', 1);
    if (rest.empty() || rest.front() != '\n' || end == std::string_view::npos) {
      return data_error(name, "missing footer");
    }
    if (const std::string_view spec = rest.substr(1, end - 1); !spec.empty()) {
      Result<PosixTz> parsed = PosixTz::parse(spec);
      if (!parsed.ok()) return data_error(name, "footer: " + parsed.error().message);
      footer = std::move(parsed).value();
    }
  }

  TimeZone tz;
  tz.name_ = std::move(name);
  tz.initial_offset_ = tzif.type_offsets[0];
  tz.footer_ = footer;
  int32_t previous = tz.initial_offset_;
  for (size_t i = 0; i < tzif.times.size(); ++i) {
    const int32_t offset = tzif.type_offsets[tzif.type_indices[i]];
    // Changes of abbreviation or isdst alone do not move the clock; drop them.
    if (offset != previous) tz.transitions_.push_back({tzif.times[i], offset});
    previous = offset;
  }
  return tz;
}

Result<TimeZone> TimeZone::from_posix(std::string_view spec) {
  Result<PosixTz> parsed = PosixTz::parse(spec);
  if (!parsed.ok()) return parsed.error();
  TimeZone tz;
  tz.name_ = std::string(spec);
  tz.initial_offset_ = parsed->std_offset;
  tz.footer_ = std::move(parsed).value();
  return tz;
}

TimeZone TimeZone::utc() {
  TimeZone tz;
  tz.name_ = "UTC";
  return tz;
}

int32_t TimeZone::utc_offset_at(int64_t unix_seconds) const {
  const auto after =
      std::upper_bound(transitions_.begin(), transitions_.end(), unix_seconds,
                       [](int64_t t, const Transition& transition) { return t < transition.at; });
  if (after == transitions_.end() && footer_) return footer_->offset_at(unix_seconds);
  return after == transitions_.begin() ? initial_offset_ : std::prev(after)->offset;
}

OffsetSpan TimeZone::span_at(int64_t unix_seconds) const {
  const auto after =
      std::upper_bound(transitions_.begin(), transitions_.end(), unix_seconds,
                       [](int64_t t, const Transition& transition) { return t < transition.at; });
  if (after == transitions_.end() && footer_) return footer_span_at(unix_seconds);
  if (after == transitions_.begin()) {
    const int64_t end = after == transitions_.end() ? kEndOfTime : after->at;
    return {kBeginningOfTime, end, initial_offset_, initial_offset_};
  }
  const auto current = std::prev(after);
  const int32_t previous =
      current == transitions_.begin() ? initial_offset_ : std::prev(current)->offset;
  return {current->at, after == transitions_.end() ? kEndOfTime : after->at, current->offset,
          previous};
}

// The span of an instant at or after the last table transition, where the footer rule rules.
OffsetSpan TimeZone::footer_span_at(int64_t unix_seconds) const {
  const PosixTz& rule = *footer_;
  OffsetSpan span;
  span.offset = rule.offset_at(unix_seconds);
  span.previous_offset = span.offset;
  if (!transitions_.empty()) {
    // The table's last transition begins the footer's reign.
    span.begin = transitions_.back().at;
    span.previous_offset =
        transitions_.size() > 1 ? transitions_[transitions_.size() - 2].offset : initial_offset_;
  }
  if (!rule.has_dst) return span;

  // Rule transitions of the neighbouring years bracket the instant; a candidate counts only if
  // the offset really changes there (a rule can keep daylight time all year).
  const int64_t year =
      civil_from_days(floor_div(unix_seconds + rule.std_offset, kSecondsPerDay)).year;
  // An artificial cut keeps `end` finite when no real transition follows within the window.
  span.end = days_from_civil(year + 2, 1, 1) * kSecondsPerDay - rule.std_offset;
  std::array<int64_t, 6> candidates = {rule.dst_start_at(year - 1), rule.dst_end_at(year - 1),
                                       rule.dst_start_at(year),     rule.dst_end_at(year),
                                       rule.dst_start_at(year + 1), rule.dst_end_at(year + 1)};
  for (const int64_t at : candidates) {
    const int32_t before = rule.offset_at(at - 1);
    if (before == rule.offset_at(at)) continue;
    if (at <= unix_seconds && at > span.begin) {
      span.begin = at;
      span.previous_offset = before;
    } else if (at > unix_seconds && at < span.end) {
      span.end = at;
    }
  }
  if (span.begin == kBeginningOfTime) span.previous_offset = span.offset;
  return span;
}

LocalTimeLookup TimeZone::lookup_local(int64_t local_seconds) const {
  // Every instant showing this wall-clock time lies within kMaxOffsetSeconds of it; walk the
  // spans covering that window and collect the instants each span's offset yields.
  const int64_t low = local_seconds - kMaxOffsetSeconds;
  const int64_t high = local_seconds + kMaxOffsetSeconds;
  std::vector<int64_t> instants;
  std::optional<int64_t> gap_end;
  for (int64_t at = low;;) {
    const OffsetSpan span = span_at(at);
    const int64_t candidate = local_seconds - span.offset;
    if (candidate >= span.begin && candidate < span.end) instants.push_back(candidate);
    if (span.offset > span.previous_offset && local_seconds >= span.begin + span.previous_offset &&
        local_seconds < span.begin + span.offset) {
      gap_end = span.begin;
    }
    if (span.end > high) break;
    at = span.end;
  }
  if (instants.empty()) {
    const int64_t end = gap_end.value_or(local_seconds - utc_offset_at(local_seconds));
    return {LocalTimeLookup::Kind::kSkipped, end, end};
  }
  if (instants.size() == 1) return {LocalTimeLookup::Kind::kUnique, instants[0], instants[0]};
  return {LocalTimeLookup::Kind::kAmbiguous, instants.front(), instants.back()};
}

std::string format_rfc3339(int64_t unix_seconds, int32_t utc_offset) {
  const CivilTime t = civil_from_seconds(unix_seconds + utc_offset);
  char buffer[64];
  int n = std::snprintf(buffer, sizeof buffer, "%04lld-%02d-%02dT%02d:%02d:%02d",
                        static_cast<long long>(t.year), t.month, t.day, t.hour, t.minute, t.second);
  if (utc_offset == 0) {
    std::snprintf(buffer + n, sizeof buffer - n, "Z");
  } else {
    const int32_t magnitude = utc_offset < 0 ? -utc_offset : utc_offset;
    std::snprintf(buffer + n, sizeof buffer - n, "%c%02d:%02d", utc_offset < 0 ? '-' : '+',
                  magnitude / 3600, magnitude % 3600 / 60);
  }
  return buffer;
}

}  // namespace kiln::cron
