// RegistryClient::get_blob_range and copy_blob: a blob streamed from one registry to another in
// ranges (GET with Range, then PATCH), so a registry-to-registry copy holds one chunk in memory
// and nothing on disk.
#include "oci/reference.h"
#include "registry/auth.h"
#include "registry/client.h"
#include "registry/client_impl.h"
#include "registry/upload_source.h"

namespace kiln::registry {
namespace {

// Bytes of a blob in another registry, fetched when the upload asks for them.
class RemoteBlobSource : public BlobSource {
 public:
  RemoteBlobSource(RegistryClient& source, std::string repository, std::string digest,
                   std::int64_t size)
      : source_(source),
        repository_(std::move(repository)),
        digest_(std::move(digest)),
        size_(size) {}

  Result<std::unique_ptr<RequestBody>> range(std::int64_t offset, std::int64_t length,
                                             oci::Sha256* hasher, std::int64_t* hashed_upto,
                                             const TransferControl& control) override {
    auto bytes = source_.get_blob_range(repository_, digest_, offset, length, size_, control);
    if (!bytes) return bytes.error();
    if (hasher != nullptr && hashed_upto != nullptr && *hashed_upto == offset) {
      hasher->update(bytes->data(), bytes->size());
      *hashed_upto += length;
    }
    return std::unique_ptr<RequestBody>(std::make_unique<StringBody>(std::move(*bytes)));
  }
  std::string describe() const override {
    return source_.options().host + "/" + repository_ + "@" + digest_;
  }

 private:
  RegistryClient& source_;
  const std::string repository_;
  const std::string digest_;
  const std::int64_t size_;
};

}  // namespace

Result<std::string> RegistryClient::get_blob_range(const std::string& repository,
                                                   const std::string& digest, std::int64_t offset,
                                                   std::int64_t length, std::int64_t blob_size,
                                                   const TransferControl& control) {
  if (!oci::is_valid_repository(repository)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid repository name \"" + repository + "\"");
  }
  if (auto d = oci::Digest::parse(digest); !d) return d.error();
  if (offset < 0 || length <= 0 || offset + length > blob_size) {
    return make_error(ErrorCode::kInvalidArgument, "bad blob range");
  }
  Call call;
  call.request.url = impl_->repo_url(repository, "/blobs/" + digest);
  call.request.headers = {"Range: bytes=" + std::to_string(offset) + "-" +
                          std::to_string(offset + length - 1)};
  call.request.max_body = static_cast<std::size_t>(length) + 1;
  call.request.long_transfer = true;
  call.scopes = {repository_scope(repository, "pull")};
  call.what = "GET bytes " + std::to_string(offset) + "+" + std::to_string(length) + " of " +
              digest + " from " + impl_->options.host + "/" + repository;
  call.follow_redirects = true;
  auto response = impl_->send(call, control);
  if (!response) return response.error();
  const bool whole = offset == 0 && length == blob_size;
  if (response->status == 200 && !whole) {
    return make_error(
        ErrorCode::kFailedPrecondition,
        call.what + ": the registry answered with the whole blob (Range not honoured)");
  }
  if (response->status != 206 && response->status != 200) {
    return impl_->error_from(*response, call.what);
  }
  if (static_cast<std::int64_t>(response->body.size()) != length) {
    // The blob is shorter than its descriptor says: trying again cannot help.
    return make_error(ErrorCode::kDataLoss,
                      call.what + ": got " + std::to_string(response->body.size()) + " bytes");
  }
  return std::move(response->body);
}

Result<UploadResult> RegistryClient::copy_blob(RegistryClient& source,
                                               const std::string& source_repository,
                                               const std::string& repository,
                                               const std::string& digest, std::int64_t size,
                                               const TransferControl& control) {
  if (!oci::is_valid_repository(repository)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid repository name \"" + repository + "\"");
  }
  if (auto d = oci::Digest::parse(digest); !d) return d.error();
  RemoteBlobSource remote(source, source_repository, digest, size);
  return upload_from(*this, *impl_, repository, digest, size, remote, /*chunked=*/true, control,
                     /*upload_url=*/{});
}

}  // namespace kiln::registry
