#include "oci/digest.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/ids.h"

namespace kiln::oci {

struct Sha256::Ctx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(ctx); }
};

namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string to_hex(const unsigned char* data, unsigned int n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (unsigned int i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

}  // namespace

Result<Digest> Digest::parse(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "invalid digest \"" + std::string(text.substr(0, 80)) + "\": expected sha256:<64 hex>");
  }
  const std::string_view algorithm = text.substr(0, colon);
  const std::string_view hex = text.substr(colon + 1);
  if (algorithm != "sha256") {
    return make_error(ErrorCode::kInvalidArgument, "unsupported digest algorithm \"" +
                                                       std::string(algorithm.substr(0, 32)) +
                                                       "\" (only sha256)");
  }
  if (hex.size() != 64 || !is_lower_hex(hex)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid digest \"" + std::string(text.substr(0, 80)) +
                          "\": expected 64 lowercase hex characters after sha256:");
  }
  return Digest{std::string(algorithm), std::string(hex)};
}

bool is_valid_digest(std::string_view text) { return Digest::parse(text).ok(); }

std::string sha256_digest(std::string_view data) { return "sha256:" + sha256_hex(data); }

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) { reset(); }
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::reset() {
  EVP_DigestInit_ex(ctx_->ctx, EVP_sha256(), nullptr);
  bytes_ = 0;
}

void Sha256::update(const void* data, std::size_t size) {
  EVP_DigestUpdate(ctx_->ctx, data, size);
  bytes_ += static_cast<std::int64_t>(size);
}

std::string Sha256::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->ctx, md, &len);
  reset();
  return "sha256:" + to_hex(md, len);
}

Result<FileDigest> sha256_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return make_error(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInternal,
                      "cannot open " + path + ": " + std::strerror(errno));
  }
  Sha256 hasher;
  std::vector<char> buf(1 << 20);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return make_error(ErrorCode::kInternal, "cannot read " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    hasher.update(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  FileDigest out;
  out.size = hasher.bytes();
  out.digest = hasher.finish();
  return out;
}

Status verify_file(const std::string& path, std::string_view expected_digest,
                   std::int64_t expected_size) {
  auto parsed = Digest::parse(expected_digest);
  if (!parsed) return parsed.error();
  auto actual = sha256_file(path);
  if (!actual) return actual.error();
  if (expected_size >= 0 && actual->size != expected_size) {
    return make_error(ErrorCode::kDataLoss, path + " has " + std::to_string(actual->size) +
                                                " bytes, expected " +
                                                std::to_string(expected_size) + " (" +
                                                std::string(expected_digest) + ")");
  }
  if (actual->digest != expected_digest) {
    return make_error(ErrorCode::kDataLoss, path + " hashes to " + actual->digest + ", expected " +
                                                std::string(expected_digest));
  }
  return {};
}

}  // namespace kiln::oci
