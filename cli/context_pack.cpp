#include "cli/context_pack.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/cli_error.h"
#include "cli/dockerignore.h"
#include "oci/digest.h"

namespace kiln::cli {
namespace {

namespace fs = std::filesystem;

enum class Kind { kFile, kDirectory, kSymlink };

struct Entry {
  std::string path;  // relative
  Kind kind = Kind::kFile;
  std::int64_t size = 0;
  unsigned mode = 0;  // permission bits
};

struct Walk {
  fs::path root;
  const DockerIgnore& ignore;
  std::string dockerfile;  // cleaned, relative
  std::vector<Entry> entries;
  std::vector<std::string> skipped;

  bool always_kept(const std::string& path) const {
    return path == dockerfile || path == ".dockerignore";
  }
  bool holds_dockerfile(const std::string& dir) const {
    return dockerfile.rfind(dir + "/", 0) == 0;
  }

  void directory(const std::string& relative) {
    std::vector<std::string> names;
    std::error_code ec;
    const fs::path here = relative.empty() ? root : root / relative;
    for (fs::directory_iterator it(here, ec), end; !ec && it != end; it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    if (ec) throw CliError(kExitUsage, "cannot read " + here.string() + ": " + ec.message());
    std::sort(names.begin(), names.end());
    for (const auto& name : names) visit(relative.empty() ? name : relative + "/" + name);
  }

  void visit(const std::string& path) {
    std::error_code ec;
    const auto status = fs::symlink_status(root / path, ec);
    if (ec) throw CliError(kExitUsage, "cannot stat " + path + ": " + ec.message());
    const bool excluded = ignore.excluded(path) && !always_kept(path);
    const unsigned mode = static_cast<unsigned>(status.permissions()) & 07777;
    switch (status.type()) {
      case fs::file_type::directory:
        // Nothing below an excluded directory can come back without an exception.
        if (excluded && !ignore.has_exceptions() && !holds_dockerfile(path)) return;
        if (!excluded) entries.push_back({path, Kind::kDirectory, 0, mode});
        directory(path);
        return;
      case fs::file_type::regular: {
        if (excluded) return;
        const auto size = fs::file_size(root / path, ec);
        if (ec) throw CliError(kExitUsage, "cannot stat " + path + ": " + ec.message());
        entries.push_back({path, Kind::kFile, static_cast<std::int64_t>(size), mode});
        return;
      }
      case fs::file_type::symlink:
        if (!excluded) entries.push_back({path, Kind::kSymlink, 0, 0777});
        return;
      default:
        if (!excluded) skipped.push_back(path);
    }
  }
};

DockerIgnore read_ignore(const fs::path& root) {
  std::ifstream in(root / ".dockerignore", std::ios::binary);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  return DockerIgnore::parse(text.str());
}

Walk walk(const std::string& dir, const PackOptions& options, const DockerIgnore& ignore) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw CliError(kExitUsage, dir + " is not a directory");
  Walk walk{fs::path(dir), ignore, clean_path(options.dockerfile), {}, {}};
  walk.directory("");
  return walk;
}

// Where libarchive's output goes: the archive file, hashed on the way.
struct Sink {
  std::FILE* file = nullptr;
  oci::Sha256 hash;
  std::int64_t bytes = 0;
};

la_ssize_t write_out(struct archive*, void* client, const void* buffer, size_t length) {
  auto* sink = static_cast<Sink*>(client);
  if (std::fwrite(buffer, 1, length, sink->file) != length) return -1;
  sink->hash.update(buffer, length);
  sink->bytes += static_cast<std::int64_t>(length);
  return static_cast<la_ssize_t>(length);
}

using ArchiveWriter = std::unique_ptr<struct archive, decltype(&archive_write_free)>;
using ArchiveEntry = std::unique_ptr<struct archive_entry, decltype(&archive_entry_free)>;

void check(struct archive* archive, int status, const std::string& what) {
  if (status < ARCHIVE_WARN) {
    const char* reason = archive_error_string(archive);
    throw CliError(kExitUnavailable, what + ": " + (reason ? reason : "libarchive failed"));
  }
}

}  // namespace

std::string context_signature(const std::string& dir, const PackOptions& options) {
  const auto found = walk(dir, options, read_ignore(dir));
  oci::Sha256 hash;
  for (const auto& entry : found.entries) {
    std::error_code ec;
    const fs::path path = fs::path(dir) / entry.path;
    std::string line = entry.path + '\0' + std::to_string(static_cast<int>(entry.kind)) + '\0' +
                       std::to_string(entry.size) + '\0' + std::to_string(entry.mode) + '\0';
    if (entry.kind == Kind::kSymlink) {
      line += fs::read_symlink(path, ec).string();
    } else {
      line += std::to_string(fs::last_write_time(path, ec).time_since_epoch().count());
    }
    hash.update(line + '\n');
  }
  return hash.finish();
}

std::vector<std::string> context_paths(const std::string& dir, const PackOptions& options) {
  const auto found = walk(dir, options, read_ignore(dir));
  std::vector<std::string> paths;
  for (const auto& entry : found.entries) paths.push_back(entry.path);
  return paths;
}

PackedContext pack_context(const std::string& dir, const std::string& archive_path,
                           const PackOptions& options) {
  const auto found = walk(dir, options, read_ignore(dir));
  PackedContext packed;
  packed.skipped = found.skipped;
  std::int64_t total = 0;
  for (const auto& entry : found.entries) total += entry.size;

  std::unique_ptr<std::FILE, decltype(&std::fclose)> file(std::fopen(archive_path.c_str(), "wb"),
                                                          &std::fclose);
  if (!file) throw CliError(kExitUnavailable, "cannot write " + archive_path);
  Sink sink;
  sink.file = file.get();
  ArchiveWriter archive(archive_write_new(), &archive_write_free);
  check(archive.get(), archive_write_add_filter_gzip(archive.get()), "gzip");
  check(archive.get(), archive_write_set_format_pax_restricted(archive.get()), "tar format");
  // No time in the gzip header: the same tree gives the same bytes.
  check(archive.get(), archive_write_set_options(archive.get(), "gzip:!timestamp"), "gzip");
  check(archive.get(), archive_write_open(archive.get(), &sink, nullptr, write_out, nullptr),
        "writing " + archive_path);

  std::vector<char> buffer(256 * 1024);
  std::int64_t done = 0;
  std::int64_t reported = 0;
  for (const auto& entry : found.entries) {
    ArchiveEntry header(archive_entry_new(), &archive_entry_free);
    archive_entry_set_pathname(header.get(), entry.path.c_str());
    archive_entry_set_perm(header.get(), entry.mode);
    // Owners and times stay zero: they are not the context's content.
    if (entry.kind == Kind::kDirectory) {
      archive_entry_set_filetype(header.get(), AE_IFDIR);
    } else if (entry.kind == Kind::kSymlink) {
      archive_entry_set_filetype(header.get(), AE_IFLNK);
      std::error_code ec;
      const auto target = fs::read_symlink(fs::path(dir) / entry.path, ec);
      if (ec) throw CliError(kExitUsage, "cannot read link " + entry.path + ": " + ec.message());
      archive_entry_set_symlink(header.get(), target.string().c_str());
    } else {
      archive_entry_set_filetype(header.get(), AE_IFREG);
      archive_entry_set_size(header.get(), entry.size);
    }
    check(archive.get(), archive_write_header(archive.get(), header.get()), entry.path);
    if (entry.kind != Kind::kFile) continue;
    std::ifstream in(fs::path(dir) / entry.path, std::ios::binary);
    if (!in) throw CliError(kExitUsage, "cannot read " + entry.path);
    // The header promised entry.size bytes: a file that grew is cut there, one that shrank is
    // padded by libarchive when the entry ends.
    std::int64_t left = entry.size;
    while (left > 0 && in) {
      in.read(buffer.data(), static_cast<std::streamsize>(std::min<std::int64_t>(
                                 left, static_cast<std::int64_t>(buffer.size()))));
      const auto got = in.gcount();
      if (got <= 0) break;
      if (archive_write_data(archive.get(), buffer.data(), static_cast<size_t>(got)) < 0) {
        check(archive.get(), ARCHIVE_FATAL, "writing " + entry.path);
      }
      left -= got;
      done += got;
      if (options.progress && done - reported >= static_cast<std::int64_t>(buffer.size())) {
        options.progress(done, total);
        reported = done;
      }
    }
    ++packed.files;
    packed.file_bytes += entry.size;
  }
  check(archive.get(), archive_write_close(archive.get()), "finishing " + archive_path);
  archive.reset();
  if (std::fflush(file.get()) != 0)
    throw CliError(kExitUnavailable, "cannot write " + archive_path);
  if (options.progress) options.progress(done, total);
  packed.digest = sink.hash.finish();
  packed.archive_bytes = sink.bytes;
  return packed;
}

}  // namespace kiln::cli
