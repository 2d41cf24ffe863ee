#include "archive/context_archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <memory>
#include <set>
#include <vector>

namespace kiln::archive {
namespace {

namespace fs = std::filesystem;

struct ReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct WriteDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
using ReadHandle = std::unique_ptr<struct archive, ReadDeleter>;
using WriteHandle = std::unique_ptr<struct archive, WriteDeleter>;

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

std::string archive_message(struct archive* a) {
  const char* text = archive_error_string(a);
  return text ? text : "unknown libarchive error";
}

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    const auto slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    if (!part.empty() && part != ".") out.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// The entry name without "./" parts and trailing slashes, as the set of links is keyed.
std::string normal_name(std::string_view path) {
  std::string out;
  for (auto part : components(path)) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

// The rules of the header, one entry at a time; remembers the symbolic links seen so far.
class EntryRules {
 public:
  explicit EntryRules(const ContextLimits& limits) : limits_(limits) {}

  Status check(struct archive_entry* entry) {
    const char* raw_name = archive_entry_pathname(entry);
    const std::string name = raw_name ? raw_name : "";
    if (name.empty()) return invalid("an entry has no name");
    if (name.front() == '/') return invalid("absolute path in the context: " + name);
    if (!stays_inside("", name)) return invalid("path leaves the context: " + name);
    for (auto part : components(name)) {
      if (part == "..") return invalid("path with a '..' component: " + name);
    }
    const std::string key = normal_name(name);
    if (auto through = through_link(key)) {
      return invalid("path goes through the symbolic link " + *through + ": " + name);
    }
    if (const char* target = archive_entry_hardlink(entry)) {
      const std::string link = target;
      if (link.empty() || link.front() == '/' || !stays_inside("", link) ||
          through_link(normal_name(link))) {
        return invalid("hard link leaves the context: " + name + " -> " + link);
      }
    } else {
      switch (archive_entry_filetype(entry)) {
        case AE_IFREG:
        case AE_IFDIR:
          break;
        case AE_IFLNK: {
          const char* target = archive_entry_symlink(entry);
          const std::string link = target ? target : "";
          const auto slash = key.rfind('/');
          const std::string base = slash == std::string::npos ? "" : key.substr(0, slash);
          if (link.empty() || link.front() == '/' || !stays_inside(base, link)) {
            return invalid("symbolic link leaves the context: " + name + " -> " + link);
          }
          links_.insert(key);
          break;
        }
        case AE_IFCHR:
        case AE_IFBLK:
          return invalid("device files are not allowed in a context: " + name);
        case AE_IFIFO:
          return invalid("FIFOs are not allowed in a context: " + name);
        case AE_IFSOCK:
          return invalid("sockets are not allowed in a context: " + name);
        default:
          return invalid("unsupported entry type in the context: " + name);
      }
    }
    if (++entries_ > limits_.max_entries) {
      return invalid("the context has more than " + std::to_string(limits_.max_entries) +
                     " entries");
    }
    if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > 0) {
      unpacked_ += static_cast<std::uint64_t>(archive_entry_size(entry));
    }
    if (unpacked_ > limits_.max_unpacked_bytes) {
      return invalid("the context unpacks to more than " +
                     std::to_string(limits_.max_unpacked_bytes) + " bytes");
    }
    return {};
  }

  std::uint64_t entries() const { return entries_; }
  std::uint64_t unpacked_bytes() const { return unpacked_; }

 private:
  // The first proper prefix of `key` that is a symbolic link of the archive, if any.
  std::optional<std::string> through_link(const std::string& key) const {
    for (auto slash = key.find('/'); slash != std::string::npos; slash = key.find('/', slash + 1)) {
      const std::string prefix = key.substr(0, slash);
      if (links_.count(prefix)) return prefix;
    }
    return std::nullopt;
  }

  ContextLimits limits_;
  std::set<std::string> links_;
  std::uint64_t entries_ = 0;
  std::uint64_t unpacked_ = 0;
};

ReadHandle new_reader() {
  ReadHandle reader(archive_read_new());
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_format_tar(reader.get());
  return reader;
}

std::string format_of(struct archive* a) {
  for (int i = 0; i < archive_filter_count(a); ++i) {
    if (archive_filter_code(a, i) == ARCHIVE_FILTER_GZIP) return "tar.gz";
  }
  return "tar";
}

// Reads the next header; a warning (a malformed pax record, say) is refused like an error.
Result<struct archive_entry*> next_header(struct archive* a, std::uint64_t seen) {
  struct archive_entry* entry = nullptr;
  const int r = archive_read_next_header(a, &entry);
  if (r == ARCHIVE_EOF) return static_cast<struct archive_entry*>(nullptr);
  if (r == ARCHIVE_OK) return entry;
  return invalid("unreadable tar entry " + std::to_string(seen + 1) + ": " + archive_message(a));
}

struct SourceState {
  const ByteSource* next = nullptr;
  std::optional<Error> error;
  bool ended = false;
};

la_ssize_t read_from_source(struct archive* a, void* data, const void** buffer) {
  auto* state = static_cast<SourceState*>(data);
  if (state->ended) return 0;
  auto bytes = (*state->next)();
  if (!bytes.ok()) {
    state->error = bytes.error();
    archive_set_error(a, EIO, "%s", bytes.error().message.c_str());
    return -1;
  }
  if (bytes->empty()) state->ended = true;
  *buffer = bytes->data();
  return static_cast<la_ssize_t>(bytes->size());
}

}  // namespace

bool stays_inside(std::string_view base_dir, std::string_view path) {
  if (!path.empty() && path.front() == '/') return false;
  int depth = static_cast<int>(components(base_dir).size());
  for (auto part : components(path)) {
    if (part == "..") {
      if (--depth < 0) return false;
    } else {
      ++depth;
    }
  }
  return true;
}

Result<ContextSummary> check_context(const ByteSource& next, const ContextLimits& limits) {
  SourceState state;
  state.next = &next;
  ReadHandle reader = new_reader();
  auto failed = [&](Error error) -> Error { return state.error ? *state.error : error; };
  if (archive_read_open(reader.get(), &state, nullptr, read_from_source, nullptr) != ARCHIVE_OK) {
    return failed(invalid("not a tar archive: " + archive_message(reader.get())));
  }
  EntryRules rules(limits);
  while (true) {
    auto entry = next_header(reader.get(), rules.entries());
    if (!entry.ok()) return failed(entry.error());
    if (*entry == nullptr) break;
    if (Status s = rules.check(*entry); !s.ok()) return s.error();
    if (archive_read_data_skip(reader.get()) != ARCHIVE_OK) {
      return failed(invalid("the context archive is cut short in " +
                            std::string(archive_entry_pathname(*entry)) + ": " +
                            archive_message(reader.get())));
    }
  }
  ContextSummary summary{format_of(reader.get()), rules.entries(), rules.unpacked_bytes()};
  while (!state.ended) {
    auto bytes = next();
    if (!bytes.ok()) return bytes.error();
    if (bytes->empty()) state.ended = true;
  }
  return summary;
}

Result<ContextSummary> extract_context(const std::string& archive_path, const std::string& dir,
                                       const ContextLimits& limits,
                                       const std::function<std::optional<std::string>()>& stop) {
  // Entry names are made absolute under the real path of `dir`: libarchive writes relative to
  // the process's working directory, which threads share. With no symbolic link in that prefix,
  // ARCHIVE_EXTRACT_SECURE_SYMLINKS judges only the links the archive itself makes.
  std::error_code ec;
  const std::string root = fs::canonical(dir, ec).string();
  if (ec)
    return make_error(ErrorCode::kFailedPrecondition, "cannot open " + dir + ": " + ec.message());
  ReadHandle reader = new_reader();
  if (archive_read_open_filename(reader.get(), archive_path.c_str(), 64 * 1024) != ARCHIVE_OK) {
    return invalid("not a tar archive: " + archive_message(reader.get()));
  }
  WriteHandle writer(archive_write_disk_new());
  archive_write_disk_set_options(writer.get(), ARCHIVE_EXTRACT_TIME |
                                                   ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                   ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  EntryRules rules(limits);
  while (true) {
    if (stop) {
      if (auto reason = stop()) return make_error(ErrorCode::kCancelled, *reason);
    }
    auto entry = next_header(reader.get(), rules.entries());
    if (!entry.ok()) return entry.error();
    if (*entry == nullptr) break;
    if (Status s = rules.check(*entry); !s.ok()) return s.error();
    const std::string name = archive_entry_pathname(*entry);
    archive_entry_set_pathname(*entry, (root + "/" + name).c_str());
    if (const char* target = archive_entry_hardlink(*entry)) {
      archive_entry_set_hardlink(*entry, (root + "/" + target).c_str());
    }
    if (archive_write_header(writer.get(), *entry) != ARCHIVE_OK) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot unpack " + name + ": " + archive_message(writer.get()));
    }
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int r;
    while ((r = archive_read_data_block(reader.get(), &block, &size, &offset)) == ARCHIVE_OK) {
      if (archive_write_data_block(writer.get(), block, size, offset) != ARCHIVE_OK) {
        return make_error(ErrorCode::kResourceExhausted,
                          "cannot write " + name + ": " + archive_message(writer.get()));
      }
    }
    if (r != ARCHIVE_EOF) {
      return invalid("the context archive is cut short in " + name + ": " +
                     archive_message(reader.get()));
    }
    if (archive_write_finish_entry(writer.get()) != ARCHIVE_OK) {
      return make_error(ErrorCode::kResourceExhausted,
                        "cannot finish " + name + ": " + archive_message(writer.get()));
    }
  }
  if (archive_write_close(writer.get()) != ARCHIVE_OK) {
    return make_error(ErrorCode::kResourceExhausted,
                      "cannot finish unpacking: " + archive_message(writer.get()));
  }
  return ContextSummary{format_of(reader.get()), rules.entries(), rules.unpacked_bytes()};
}

}  // namespace kiln::archive
