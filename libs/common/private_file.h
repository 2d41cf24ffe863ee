// Files that hold a secret (keys, passwords): readable by their owner only, or refused.
//
// Errors: Result<T> (common/result.h); the message names the file and `what` it is.
#pragma once

#include <string>

#include "common/result.h"

namespace kiln {

// The whole content of `path`; kPermissionDenied when group or others may read it, kNotFound
// when it cannot be opened.
Result<std::string> read_private_file(const std::string& path, const std::string& what);

// Creates `path` with mode 0600 holding `content`. With `replace` false an existing file is
// kAlreadyExists and left alone; with true it is replaced (atomically, by rename).
Status write_private_file(const std::string& path, const std::string& content,
                          const std::string& what, bool replace);

// `bytes` random bytes from the system's CSPRNG as lowercase hex; throws std::runtime_error if
// the CSPRNG fails (which it does not on Linux).
std::string random_hex(std::size_t bytes);

}  // namespace kiln
