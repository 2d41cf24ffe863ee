// RegistryClient::get_blob / get_blob_to_file: GET a blob, following redirects (storage
// backends), hashing as it arrives and checking the digest.
#include <cstdio>

#include "oci/digest.h"
#include "oci/reference.h"
#include "registry/auth.h"
#include "registry/client.h"
#include "registry/client_impl.h"

namespace kiln::registry {
namespace {

class HashingStringSink : public ResponseSink {
 public:
  explicit HashingStringSink(std::int64_t max) : max_(max) {}
  Status write(const char* data, std::size_t n) override {
    if (static_cast<std::int64_t>(data_.size() + n) > max_) {
      return make_error(ErrorCode::kResourceExhausted,
                        "blob is larger than " + std::to_string(max_) + " bytes");
    }
    data_.append(data, n);
    hasher_.update(data, n);
    return {};
  }
  void reset() override {
    data_.clear();
    hasher_.reset();
  }
  std::string& data() { return data_; }
  std::string digest() { return hasher_.finish(); }

 private:
  std::int64_t max_;
  std::string data_;
  oci::Sha256 hasher_;
};

class HashingFileSink : public ResponseSink {
 public:
  explicit HashingFileSink(std::FILE* file) : file_(file) {}
  Status write(const char* data, std::size_t n) override {
    if (std::fwrite(data, 1, n, file_) != n) {
      return make_error(ErrorCode::kInternal, "cannot write the downloaded blob");
    }
    hasher_.update(data, n);
    return {};
  }
  void reset() override {
    std::rewind(file_);
    hasher_.reset();
  }
  std::string digest() { return hasher_.finish(); }

 private:
  std::FILE* file_;
  oci::Sha256 hasher_;
};

Call blob_get(RegistryClient::Impl& impl, const std::string& repository, const std::string& digest,
              ResponseSink* sink) {
  Call call;
  call.request.url = impl.repo_url(repository, "/blobs/" + digest);
  call.request.sink = sink;
  call.request.long_transfer = true;
  call.scopes = {repository_scope(repository, "pull")};
  call.what = "GET blob " + digest + " from " + repository;
  call.follow_redirects = true;
  return call;
}

Status check_args(const std::string& repository, const std::string& digest) {
  if (!oci::is_valid_repository(repository)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid repository name \"" + repository + "\"");
  }
  if (auto d = oci::Digest::parse(digest); !d) return d.error();
  return {};
}

}  // namespace

Result<std::string> RegistryClient::get_blob(const std::string& repository,
                                             const std::string& digest, std::int64_t max_size,
                                             const TransferControl& control) {
  if (auto s = check_args(repository, digest); !s) return s.error();
  HashingStringSink sink(max_size);
  Call call = blob_get(*impl_, repository, digest, &sink);
  auto response = impl_->send(call, control);
  if (!response) return response.error();
  if (response->status != 200) {
    // Error bodies went to the sink; they are small JSON.
    response->body = sink.data();
    return impl_->error_from(*response, call.what);
  }
  const std::string actual = sink.digest();
  if (actual != digest) {
    return make_error(ErrorCode::kDataLoss, call.what + ": received bytes hash to " + actual);
  }
  return std::move(sink.data());
}

Status RegistryClient::get_blob_to_file(const std::string& repository, const std::string& digest,
                                        const std::string& path, const TransferControl& control) {
  if (auto s = check_args(repository, digest); !s) return s.error();
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return make_error(ErrorCode::kInternal, "cannot create " + path);
  HashingFileSink sink(file);
  Call call = blob_get(*impl_, repository, digest, &sink);
  auto response = impl_->send(call, control);
  const bool closed = std::fclose(file) == 0;
  Status status;
  if (!response) {
    status = response.error();
  } else if (response->status != 200) {
    status = impl_->error_from(*response, call.what);
  } else if (!closed) {
    status = make_error(ErrorCode::kInternal, "cannot write " + path);
  } else if (const std::string actual = sink.digest(); actual != digest) {
    status = make_error(ErrorCode::kDataLoss, call.what + ": received bytes hash to " + actual);
  }
  if (!status.ok()) std::remove(path.c_str());
  return status;
}

}  // namespace kiln::registry
