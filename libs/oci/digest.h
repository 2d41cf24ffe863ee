// OCI content digests ("sha256:<64 lowercase hex>") and streaming SHA-256.
//
// Only sha256 is supported: it is what buildah, skopeo and every registry use by default. A
// digest string of another algorithm is rejected by Digest::parse with kInvalidArgument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kiln::oci {

struct Digest {
  std::string algorithm;  // always "sha256"
  std::string hex;        // 64 lowercase hex characters

  // "sha256:<hex>"; this string is what the registry API and the layout use.
  std::string str() const { return algorithm + ":" + hex; }
  bool operator==(const Digest&) const = default;

  // Accepts exactly "sha256:" followed by 64 lowercase hex characters. Anything else (upper
  // case, whitespace, another algorithm, wrong length) is kInvalidArgument naming the input.
  static Result<Digest> parse(std::string_view text);
};

bool is_valid_digest(std::string_view text);

// "sha256:<hex>" of an in-memory byte string (manifests, configs).
std::string sha256_digest(std::string_view data);

// Incremental SHA-256 over OpenSSL EVP. Not copyable; movable.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // "sha256:<hex>" of everything fed since construction or the last reset(). Resets the state.
  std::string finish();
  void reset();
  std::int64_t bytes() const { return bytes_; }

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  std::int64_t bytes_ = 0;
};

// Streams the file through SHA-256 (never loads it whole); returns "sha256:<hex>" and its size.
struct FileDigest {
  std::string digest;
  std::int64_t size = 0;
};
Result<FileDigest> sha256_file(const std::string& path);

// Checks that the file at `path` has `expected_digest` and, when expected_size >= 0, that size.
// A mismatch is kDataLoss whose message names the path, the expected and the actual digest.
Status verify_file(const std::string& path, std::string_view expected_digest,
                   std::int64_t expected_size = -1);

}  // namespace kiln::oci
