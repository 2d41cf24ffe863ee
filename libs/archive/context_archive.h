// Build contexts as users upload them (tar or gzip-compressed tar), read with libarchive. One set
// of rules for webhook-ingest, which checks an upload while it streams in and before it is stored,
// and the builder, which checks again while extracting (a context stored under older rules cannot
// slip past newer ones):
//   - paths are relative and have no ".." component;
//   - symbolic links point inside the tree, and no entry goes through one (so a chain like
//     a/b -> .., a/b/c -> .. cannot climb out); hard links name a path inside the tree;
//   - only regular files, directories and links: no devices, FIFOs or sockets;
//   - at most ContextLimits::max_entries entries and max_unpacked_bytes of file data (a gzip bomb
//     is refused by what it would unpack, not by its compressed size).
// Extraction also sets libarchive's own guards (ARCHIVE_EXTRACT_SECURE_SYMLINKS and _NODOTDOT).
// Errors are Result/Status values: kInvalidArgument naming the entry for a context that breaks a
// rule or is not a tar archive; a ByteSource's own error is passed through unchanged.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kiln::archive {

struct ContextLimits {
  std::uint64_t max_entries = 200'000;
  std::uint64_t max_unpacked_bytes = 4ULL << 30;
};

struct ContextSummary {
  std::string format;  // "tar" or "tar.gz"
  std::uint64_t entries = 0;
  std::uint64_t unpacked_bytes = 0;  // file data as it is once unpacked
};

// The next bytes of an archive; an empty view at its end. The view must stay valid until the
// next call.
using ByteSource = std::function<Result<std::string_view>()>;

// Checks the archive `next` yields, then reads `next` to its end (bytes after the tar end
// marker belong to the upload too).
Result<ContextSummary> check_context(const ByteSource& next, const ContextLimits& limits);

// Unpacks the archive file at `archive_path` into the existing directory `dir`, checking every
// entry first. `stop` is asked before each entry: a reason (cancelled, out of time) ends the
// extraction with kCancelled and that reason.
Result<ContextSummary> extract_context(
    const std::string& archive_path, const std::string& dir, const ContextLimits& limits,
    const std::function<std::optional<std::string>()>& stop = {});

// Whether `path` (relative, '/'-separated) stays inside the tree when read from `base_dir` (a
// symbolic link's target is relative to the directory the link is in).
bool stays_inside(std::string_view base_dir, std::string_view path);

}  // namespace kiln::archive
