// Build contexts in stream KILN_UPLOADS: written as chunks of at most 512 KiB on
// kiln.upload.<upload_id> (Nats-Msg-Id <upload_id>:<index>), the last chunk carrying the sha256
// and size of the whole, so a reader knows the upload is complete and intact. An upload refused
// or cut short has its chunks removed at once.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "bus/bus.h"

namespace kiln::webhook {

inline constexpr std::size_t kUploadChunkBytes = 512 * 1024;

class UploadWriter {
 public:
  // `tenant` owns the upload: only its builds may use it.
  UploadWriter(bus::Bus& bus, std::string upload_id, std::string tenant, int timeout_ms);
  ~UploadWriter();
  UploadWriter(const UploadWriter&) = delete;
  UploadWriter& operator=(const UploadWriter&) = delete;

  // Buffers and publishes every full chunk (waiting for each ack).
  Status write(std::string_view bytes);
  // Publishes the last chunk with the digest: only now is the upload usable. With
  // `expected_sha256` (hex), content that hashes otherwise is kFailedPrecondition and the upload
  // never completes (its chunks are removed with the writer).
  Status finish(const std::string& expected_sha256 = {});

  const std::string& upload_id() const { return upload_id_; }
  const std::string& sha256() const { return sha256_; }
  std::uint64_t size() const { return size_; }

 private:
  Status publish(bool last);

  bus::Bus& bus_;
  std::string upload_id_;
  std::string tenant_;
  int timeout_ms_;
  EVP_MD_CTX* digest_ = nullptr;
  std::string buffer_;
  std::int64_t index_ = 0;
  std::uint64_t size_ = 0;
  std::string sha256_;
  bool finished_ = false;  // else the destructor removes the chunks already stored
};

struct StoredUpload {
  std::string sha256;
  std::int64_t size = 0;
  std::string format;  // tar | tar.gz
  std::string tenant;  // who uploaded it; empty for uploads older than tenants on uploads
};

// A complete upload's digest, size and format; kNotFound when it does not exist or never finished.
Result<StoredUpload> find_upload(bus::Bus& bus, const std::string& upload_id);

}  // namespace kiln::webhook
