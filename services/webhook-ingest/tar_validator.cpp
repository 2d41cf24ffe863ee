#include "tar_validator.h"

#include <zlib.h>

#include <cstring>
#include <vector>

namespace kiln::webhook {
namespace {

constexpr std::size_t kBlock = 512;
constexpr std::uint64_t kMaxMetaBytes = 1 << 20;

Error invalid(const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, message);
}

std::string field(const char* block, std::size_t offset, std::size_t size) {
  const char* start = block + offset;
  return std::string(start, strnlen(start, size));
}

// Octal, or GNU base-256 when the high bit of the first byte is set.
bool parse_number(const char* p, std::size_t size, std::uint64_t& out) {
  out = 0;
  if (static_cast<unsigned char>(p[0]) & 0x80) {
    if (static_cast<unsigned char>(p[0]) != 0x80) return false;  // negative or huge
    for (std::size_t i = 1; i < size; ++i) {
      if (out >> 56) return false;
      out = (out << 8) | static_cast<unsigned char>(p[i]);
    }
    return true;
  }
  std::size_t i = 0;
  while (i < size && (p[i] == ' ' || p[i] == '\0')) ++i;
  for (; i < size && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (out >> 60) return false;
    out = out * 8 + static_cast<std::uint64_t>(p[i] - '0');
  }
  for (; i < size; ++i) {
    if (p[i] != ' ' && p[i] != '\0') return false;
  }
  return true;
}

bool checksum_ok(const char* block) {
  std::uint64_t stored = 0;
  if (!parse_number(block + 148, 8, stored)) return false;
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < kBlock; ++i) {
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(block[i]);
  }
  return sum == stored;
}

bool all_zero(const char* block) {
  for (std::size_t i = 0; i < kBlock; ++i) {
    if (block[i] != 0) return false;
  }
  return true;
}

// pax records: "<len> key=value\n"... False when malformed: an extractor might read a path
// from it that this check did not see.
bool read_pax(const std::string& data, std::string& path, std::string& link) {
  std::size_t pos = 0;
  while (pos < data.size()) {
    if (data[pos] == '\0') return true;  // NUL padding after the last record
    const auto space = data.find(' ', pos);
    if (space == std::string::npos || space == pos) return false;
    std::size_t len = 0;
    for (std::size_t i = pos; i < space; ++i) {
      if (data[i] < '0' || data[i] > '9' || len > data.size()) return false;
      len = len * 10 + static_cast<std::size_t>(data[i] - '0');
    }
    if (len <= space - pos + 1 || pos + len > data.size() || data[pos + len - 1] != '\n') {
      return false;
    }
    const std::string record = data.substr(space + 1, pos + len - space - 1);
    const auto eq = record.find('=');
    if (eq != std::string::npos) {
      std::string value = record.substr(eq + 1);
      if (!value.empty() && value.back() == '\n') value.pop_back();
      const std::string key = record.substr(0, eq);
      if (key == "path") path = value;
      if (key == "linkpath") link = value;
    }
    pos += len;
  }
  return true;
}

}  // namespace

bool stays_inside(std::string_view base_dir, std::string_view path) {
  if (path.empty()) return true;
  if (path.front() == '/') return false;
  std::vector<std::string_view> stack;
  auto push_components = [&stack](std::string_view text) {
    std::size_t start = 0;
    while (start <= text.size()) {
      const auto slash = text.find('/', start);
      const auto end = slash == std::string_view::npos ? text.size() : slash;
      const std::string_view part = text.substr(start, end - start);
      if (part == "..") {
        if (stack.empty()) return false;
        stack.pop_back();
      } else if (!part.empty() && part != ".") {
        stack.push_back(part);
      }
      start = end + 1;
    }
    return true;
  };
  return push_components(base_dir) && push_components(path);
}

struct TarValidator::Inflater {
  z_stream stream{};
  bool done = false;
  Inflater() { inflateInit2(&stream, 16 + MAX_WBITS); }
  ~Inflater() { inflateEnd(&stream); }
};

TarValidator::TarValidator() = default;
TarValidator::~TarValidator() = default;

Status TarValidator::feed(std::string_view bytes) {
  if (failed_) return invalid("the archive was already rejected");
  if (bytes.empty()) return {};
  if (format_.empty()) {
    // The gzip magic needs two bytes; an upload whose first read is one byte is rare enough
    // to treat the byte as tar (its checksum then decides).
    const bool gzip = bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
                      static_cast<unsigned char>(bytes[1]) == 0x8b;
    format_ = gzip ? "tar.gz" : "tar";
    if (gzip) inflater_ = std::make_unique<Inflater>();
  }
  Status status;
  if (!inflater_) {
    status = feed_tar(bytes);
  } else {
    if (inflater_->done) {
      failed_ = true;
      return invalid("data after the end of the gzip stream");
    }
    auto& z = inflater_->stream;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z.avail_in = static_cast<uInt>(bytes.size());
    char out[64 * 1024];
    while (z.avail_in > 0 && !inflater_->done) {
      z.next_out = reinterpret_cast<Bytef*>(out);
      z.avail_out = sizeof out;
      const int rc = inflate(&z, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        failed_ = true;
        return invalid(std::string("not a valid gzip stream: ") +
                       (z.msg ? z.msg : "inflate failed"));
      }
      const std::size_t produced = sizeof out - z.avail_out;
      if (produced > 0) {
        status = feed_tar(std::string_view(out, produced));
        if (!status.ok()) break;
      }
      if (rc == Z_STREAM_END) inflater_->done = true;
      if (rc == Z_BUF_ERROR && produced == 0) break;
    }
  }
  if (!status.ok()) failed_ = true;
  return status;
}

Status TarValidator::finish() {
  if (failed_) return invalid("the archive was already rejected");
  if (format_.empty()) return invalid("the context archive is empty");
  if (inflater_ && !inflater_->done) return invalid("the gzip stream is truncated");
  if (!ended_ && (data_left_ > 0 || !pending_.empty() || meta_type_ != 0)) {
    return invalid("the tar archive is truncated");
  }
  if (!ended_ && entries_ == 0) return invalid("the tar archive has no entries");
  return {};
}

Status TarValidator::feed_tar(std::string_view bytes) {
  while (!bytes.empty()) {
    if (ended_) return {};  // padding after the end-of-archive blocks
    if (data_left_ > 0) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(data_left_, bytes.size()));
      if (meta_type_ != 0 && meta_.size() < meta_size_) {
        meta_.append(bytes.substr(0, std::min<std::size_t>(n, meta_size_ - meta_.size())));
      }
      data_left_ -= n;
      bytes.remove_prefix(n);
      if (data_left_ == 0 && meta_type_ != 0) {
        if (Status s = on_meta_data(); !s.ok()) return s;
      }
      continue;
    }
    const std::size_t need = kBlock - pending_.size();
    const std::size_t n = std::min(need, bytes.size());
    pending_.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
    if (pending_.size() < kBlock) continue;
    const std::string block = std::move(pending_);
    pending_.clear();
    if (Status s = on_header(block.data()); !s.ok()) return s;
  }
  return {};
}

Status TarValidator::on_header(const char* block) {
  if (all_zero(block)) {
    ended_ = true;
    return {};
  }
  if (!checksum_ok(block)) {
    return invalid("not a tar archive (bad header checksum at entry " +
                   std::to_string(entries_ + 1) + ")");
  }
  std::uint64_t size = 0;
  if (!parse_number(block + 124, 12, size)) return invalid("tar entry with an invalid size");
  const char type = block[156];
  const std::uint64_t padded = (size + kBlock - 1) / kBlock * kBlock;
  if (type == 'x' || type == 'L' || type == 'K') {
    if (size > kMaxMetaBytes) return invalid("tar metadata entry larger than 1 MiB");
    meta_type_ = type;
    meta_.clear();
    meta_size_ = size;
    data_left_ = padded;
    if (data_left_ == 0) return on_meta_data();
    return {};
  }
  if (type == 'g') {  // global pax header: applies to nothing we check
    data_left_ = padded;
    return {};
  }
  std::string name = field(block, 0, 100);
  const std::string prefix = field(block, 345, 155);
  if (std::memcmp(block + 257, "ustar", 5) == 0 && !prefix.empty()) name = prefix + "/" + name;
  std::string link = field(block, 157, 100);
  if (!long_name_.empty()) name = long_name_;
  if (!long_link_.empty()) link = long_link_;
  if (!pax_path_.empty()) name = pax_path_;
  if (!pax_link_.empty()) link = pax_link_;
  long_name_.clear();
  long_link_.clear();
  pax_path_.clear();
  pax_link_.clear();
  ++entries_;
  if (Status s = check_entry(type, name, link); !s.ok()) return s;
  // Links and directories carry no data even when a size is set.
  data_left_ = (type == '1' || type == '2' || type == '5') ? 0 : padded;
  return {};
}

Status TarValidator::on_meta_data() {
  const char type = meta_type_;
  meta_type_ = 0;
  std::string value = meta_;
  meta_.clear();
  if (type == 'x') {
    if (!read_pax(value, pax_path_, pax_link_)) return invalid("malformed pax header");
    return {};
  }
  value = std::string(value.c_str());  // GNU long names are NUL-terminated
  if (type == 'L') long_name_ = value;
  if (type == 'K') long_link_ = value;
  return {};
}

Status TarValidator::check_entry(char type, const std::string& name, const std::string& link) {
  if (name.empty()) return invalid("tar entry with an empty name");
  if (name.front() == '/') return invalid("tar entry '" + name + "' has an absolute path");
  if (!stays_inside("", name)) return invalid("tar entry '" + name + "' leaves the context (..)");
  std::string_view components(name);
  for (std::size_t start = 0; start <= components.size();) {
    const auto slash = components.find('/', start);
    const auto end = slash == std::string_view::npos ? components.size() : slash;
    if (components.substr(start, end - start) == "..") {
      return invalid("tar entry '" + name + "' contains a '..' component");
    }
    start = end + 1;
  }
  switch (type) {
    case '3':
    case '4':
      return invalid("tar entry '" + name + "' is a device file");
    case '6':
      return invalid("tar entry '" + name + "' is a FIFO");
    case '1':
      if (link.empty() || link.front() == '/' || !stays_inside("", link)) {
        return invalid("hard link '" + name + "' points outside the context: " + link);
      }
      return {};
    case '2': {
      const auto slash = name.rfind('/');
      const std::string dir = slash == std::string::npos ? "" : name.substr(0, slash);
      if (link.empty() || link.front() == '/' || !stays_inside(dir, link)) {
        return invalid("symbolic link '" + name + "' points outside the context: " + link);
      }
      return {};
    }
    default:
      return {};
  }
}

}  // namespace kiln::webhook
