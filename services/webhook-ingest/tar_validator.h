// Checks a tar (or gzip-compressed tar) archive while it streams past, without storing it: every
// entry must stay inside the build context. Rejected: absolute paths, ".." components, hard or
// symbolic links that point outside the tree, device files and FIFOs, and bytes that are not a
// tar archive at all. Understands ustar prefixes, GNU long names (L/K) and pax path/linkpath.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kiln::webhook {

class TarValidator {
 public:
  TarValidator();
  ~TarValidator();
  TarValidator(const TarValidator&) = delete;
  TarValidator& operator=(const TarValidator&) = delete;

  // The next bytes of the archive as uploaded (compressed or not). Errors are
  // kInvalidArgument with a message naming the entry; once failed, every call fails.
  Status feed(std::string_view bytes);
  // The upload ended: the archive must be complete.
  Status finish();

  // "tar" or "tar.gz", known after the first bytes.
  const std::string& format() const { return format_; }
  std::uint64_t entries() const { return entries_; }

 private:
  Status feed_tar(std::string_view bytes);
  Status on_header(const char* block);
  Status on_meta_data();  // the content of a pax or GNU long-name entry is complete
  Status check_entry(char type, const std::string& name, const std::string& link);

  struct Inflater;
  std::unique_ptr<Inflater> inflater_;
  std::string format_;
  std::string pending_;          // bytes of an incomplete block
  std::uint64_t data_left_ = 0;  // entry data (with padding) still to skip
  char meta_type_ = 0;           // 'x', 'L' or 'K' while collecting its data
  std::string meta_;
  std::uint64_t meta_size_ = 0;
  std::string long_name_;
  std::string long_link_;
  std::string pax_path_;
  std::string pax_link_;
  bool ended_ = false;  // a zero block was seen
  bool failed_ = false;
  std::uint64_t entries_ = 0;
};

// Whether `path` (relative, '/'-separated) stays inside the tree; `base_dir` is where a symlink
// lives (its target is relative to it).
bool stays_inside(std::string_view base_dir, std::string_view path);

}  // namespace kiln::webhook
