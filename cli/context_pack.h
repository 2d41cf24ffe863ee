// A local build context packed as `docker build` sends it: the directory with .dockerignore
// applied (the Dockerfile and .dockerignore always kept: the builder needs them), as a tar.gz
// that is the same bytes for the same tree wherever and whenever it is packed (entries sorted,
// times, owners and the gzip header zeroed; permission bits and symbolic links kept), so its
// sha256 identifies the context. Streamed to a file from disk, one buffer in memory.
//
// Errors throw CliError: kExitUsage for what the user can fix (no such directory, an unreadable
// file, a .dockerignore pattern), kExitUnavailable for a write that failed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kiln::cli {

struct PackedContext {
  std::string digest;  // "sha256:<hex>" of the archive
  std::int64_t archive_bytes = 0;
  std::int64_t files = 0;
  std::int64_t file_bytes = 0;       // file content before compression
  std::vector<std::string> skipped;  // sockets, FIFOs, devices: not part of a context
};

struct PackOptions {
  std::string dockerfile = "Dockerfile";  // relative to the context root; always kept
  // Called with the file bytes packed so far and the total, now and then.
  std::function<void(std::int64_t done, std::int64_t total)> progress;
};

// The paths (relative, '/'-separated, sorted as packed) that a pack of `dir` would hold.
std::vector<std::string> context_paths(const std::string& dir, const PackOptions& options);

// What the pack of `dir` would hold, as metadata only (paths, kinds, sizes, modes, times, link
// targets), hashed: when it is unchanged since a pack, so is the archive, and `kiln build` needs
// neither to pack nor to send it again. A file rewritten with the same size within the clock's
// resolution is missed, as by make.
std::string context_signature(const std::string& dir, const PackOptions& options);

// Packs `dir` into `archive_path` (created or replaced).
PackedContext pack_context(const std::string& dir, const std::string& archive_path,
                           const PackOptions& options);

}  // namespace kiln::cli
