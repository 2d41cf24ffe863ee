#include "common/private_file.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace kiln {

Result<std::string> read_private_file(const std::string& path, const std::string& what) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return make_error(ErrorCode::kNotFound, what + " " + path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    return make_error(ErrorCode::kPermissionDenied,
                      what + " " + path + " is readable by others than its owner (chmod 600 it)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, what + " " + path + ": cannot be opened");
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

Status write_private_file(const std::string& path, const std::string& content,
                          const std::string& what, bool replace) {
  const std::string target = replace ? path + ".tmp" : path;
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (replace ? O_TRUNC : O_EXCL);
  const int fd = ::open(target.c_str(), flags, 0600);
  if (fd < 0) {
    return make_error(errno == EEXIST ? ErrorCode::kAlreadyExists : ErrorCode::kUnavailable,
                      what + " " + path + ": " + std::strerror(errno));
  }
  // An existing .tmp keeps its mode through O_TRUNC: make sure.
  const bool written = ::fchmod(fd, 0600) == 0 && ::write(fd, content.data(), content.size()) ==
                                                      static_cast<ssize_t>(content.size());
  ::close(fd);
  if (!written || (replace && std::rename(target.c_str(), path.c_str()) != 0)) {
    return make_error(ErrorCode::kUnavailable,
                      "writing " + what + " " + path + ": " + std::strerror(errno));
  }
  return {};
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(bytes * 2);
  for (unsigned char b : raw) {
    text += kHex[b >> 4];
    text += kHex[b & 15];
  }
  return text;
}

}  // namespace kiln
