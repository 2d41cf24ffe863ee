// Where an upload's bytes come from: a local file (upload_blob) or a blob in another registry,
// fetched range by range (copy_blob). Internal to libs/registry.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "oci/digest.h"
#include "registry/client.h"
#include "registry/client_impl.h"
#include "registry/http.h"

namespace kiln::registry {

class BlobSource {
 public:
  virtual ~BlobSource() = default;
  // The body for bytes [offset, offset + length). Bytes read for the first time (in order) are fed
  // to `hasher`, which covers [0, *hashed_upto): a re-sent range is not hashed twice.
  virtual Result<std::unique_ptr<RequestBody>> range(std::int64_t offset, std::int64_t length,
                                                     oci::Sha256* hasher, std::int64_t* hashed_upto,
                                                     const TransferControl& control) = 0;
  // Names the source in errors: "the local file /x", "host/repo@sha256:...".
  virtual std::string describe() const = 0;
};

// Uploads `size` bytes of `source` as blob `digest` to `repository`: in one PUT, or in PATCHes
// of options.chunk_size when `chunked` (each PATCH's body is asked of the source when it is
// sent, so at most one chunk is in memory). A retryable failure restarts at POST, after checking
// whether the blob arrived after all.
Result<UploadResult> upload_from(RegistryClient& client, RegistryClient::Impl& impl,
                                 const std::string& repository, const std::string& digest,
                                 std::int64_t size, BlobSource& source, bool chunked,
                                 const TransferControl& control, const std::string& upload_url);

}  // namespace kiln::registry
