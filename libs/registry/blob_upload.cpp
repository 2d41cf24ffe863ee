// RegistryClient::upload_blob (and upload_from, for blob_copy.cpp): monolithic (POST, PUT ?digest=
// with the body) and chunked (POST, PATCH with Content-Range per chunk, PUT ?digest=) uploads,
// streamed from a BlobSource (a file read with pread, or another registry's blob in ranges) and
// hashed while read.
//
// Notes on docker-registry (distribution 2.8): every PATCH answers with a new Location whose
// _state parameter encodes the offset; only that latest URL is valid, an older one gets
// 404 BLOB_UPLOAD_INVALID. Content-Range is not checked (the data is appended), so kiln checks
// the Range header of each answer. A PATCH with a Content-Type other than
// application/octet-stream fails with 500. A failed attempt therefore restarts at POST instead of
// resuming a session whose state is uncertain.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "oci/digest.h"
#include "oci/reference.h"
#include "registry/auth.h"
#include "registry/client.h"
#include "registry/client_impl.h"
#include "registry/errors.h"
#include "registry/retry.h"
#include "registry/upload_source.h"

namespace kiln::registry {
namespace {

constexpr const char* kOctetStream = "Content-Type: application/octet-stream";

class FileHandle {
 public:
  explicit FileHandle(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~FileHandle() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// What the retry loop needs to know about a failed attempt.
struct AttemptFailure {
  bool retryable = false;
  std::optional<std::chrono::milliseconds> delay;  // from Retry-After
};

struct UploadContext {
  RegistryClient::Impl& impl;
  const std::string& repository;
  const std::string& digest;
  std::int64_t size;
  BlobSource& source;
  const TransferControl& control;
  std::string what;
};

Error fail_from_response(UploadContext& ctx, const HttpResponse& response, const std::string& what,
                         AttemptFailure* failure) {
  Error e = ctx.impl.error_from(response, what);
  failure->retryable = is_retryable_status(response.status) || e.peer_code == "BLOB_UPLOAD_UNKNOWN";
  if (auto after = parse_retry_after(response.header("retry-after"))) {
    failure->delay = std::min(*after, ctx.impl.options.retry.max_retry_after);
  }
  return e;
}

Error fail_from_error(const Error& e, AttemptFailure* failure) {
  failure->retryable = is_retryable(e);
  return e;
}

Call blob_call(UploadContext& ctx, std::string method, std::string url, std::string what) {
  Call call;
  call.request.method = std::move(method);
  call.request.url = std::move(url);
  call.scopes = {repository_scope(ctx.repository)};
  call.what = std::move(what);
  return call;
}

// POST /v2/<name>/blobs/uploads/ -> the session URL.
Result<std::string> start_upload(UploadContext& ctx, AttemptFailure* failure) {
  Call call = blob_call(ctx, "POST", ctx.impl.repo_url(ctx.repository, "/blobs/uploads/"),
                        "start upload of " + ctx.digest + " to " + ctx.repository);
  auto response = ctx.impl.send(call, ctx.control);
  if (!response) return fail_from_error(response.error(), failure);
  if (response->status != 202) return fail_from_response(ctx, *response, call.what, failure);
  std::string url = RegistryClient::Impl::resolve(call.request.url, response->header("location"));
  if (url.empty()) {
    failure->retryable = true;
    return make_error(ErrorCode::kUnavailable, call.what + ": no usable Location in the answer");
  }
  return url;
}

// Checks the final PUT's answer: 201 and the digest the registry computed.
Result<UploadResult> finish(UploadContext& ctx, const HttpResponse& response,
                            const std::string& what, std::int64_t sent, bool chunked,
                            AttemptFailure* failure) {
  if (response.status != 201 && response.status != 204) {
    return fail_from_response(ctx, response, what, failure);
  }
  const std::string returned = response.header("docker-content-digest");
  if (!returned.empty() && returned != ctx.digest) {
    return make_error(ErrorCode::kDataLoss, what + ": registry computed " + returned);
  }
  return UploadResult{ctx.digest, sent, chunked, 1};
}

Result<UploadResult> upload_monolithic(UploadContext& ctx, const std::string& session,
                                       AttemptFailure* failure) {
  oci::Sha256 hasher;
  std::int64_t hashed = 0;
  auto body = ctx.source.range(0, ctx.size, &hasher, &hashed, ctx.control);
  if (!body) return fail_from_error(body.error(), failure);
  Call call = blob_call(ctx, "PUT", RegistryClient::Impl::with_query(session, "digest", ctx.digest),
                        ctx.what);
  call.request.headers = {kOctetStream};
  call.request.body = body->get();
  call.request.long_transfer = true;
  call.retry = false;  // the session's state is unknown after a failure: restart at POST
  auto response = ctx.impl.send(call, ctx.control);
  if (!response) return fail_from_error(response.error(), failure);
  const std::string local = hashed == ctx.size ? hasher.finish() : std::string();
  if (response->status == 400 && !local.empty() && local != ctx.digest) {
    Error e = ctx.impl.error_from(*response, call.what);
    e.message += "; " + ctx.source.describe() + " hashes to " + local;
    return e;
  }
  auto result = finish(ctx, *response, call.what, response->bytes_sent, false, failure);
  if (result && !local.empty() && local != ctx.digest) {
    return make_error(ErrorCode::kDataLoss, ctx.what + ": " + ctx.source.describe() +
                                                " hashes to " + local +
                                                " but the registry accepted it");
  }
  return result;
}

Result<UploadResult> upload_chunked(UploadContext& ctx, const std::string& session,
                                    AttemptFailure* failure) {
  const std::int64_t chunk = std::max<std::int64_t>(ctx.impl.options.chunk_size, 64 * 1024);
  oci::Sha256 hasher;
  std::int64_t hashed = 0;
  std::int64_t offset = 0;
  std::int64_t sent = 0;
  std::string url = session;
  while (offset < ctx.size) {
    const std::int64_t n = std::min(chunk, ctx.size - offset);
    const std::int64_t last = offset + n - 1;
    auto body = ctx.source.range(offset, n, &hasher, &hashed, ctx.control);
    if (!body) return fail_from_error(body.error(), failure);
    Call call = blob_call(
        ctx, "PATCH", url,
        ctx.what + " (bytes " + std::to_string(offset) + "-" + std::to_string(last) + ")");
    call.request.headers = {
        kOctetStream, "Content-Range: " + std::to_string(offset) + "-" + std::to_string(last)};
    call.request.body = body->get();
    call.request.long_transfer = true;
    call.retry = false;
    auto response = ctx.impl.send(call, ctx.control);
    if (!response) return fail_from_error(response.error(), failure);
    if (response->status != 202) return fail_from_response(ctx, *response, call.what, failure);
    const std::string range = response->header("range");
    if (!range.empty() && range != "0-" + std::to_string(last)) {
      failure->retryable = true;
      return make_error(ErrorCode::kUnavailable, call.what + ": registry reports range " + range +
                                                     ", expected 0-" + std::to_string(last));
    }
    url = RegistryClient::Impl::resolve(url, response->header("location"));
    if (url.empty()) {
      failure->retryable = true;
      return make_error(ErrorCode::kUnavailable, call.what + ": no usable Location in the answer");
    }
    sent += response->bytes_sent;
    offset += n;
  }
  const std::string local = hasher.finish();
  if (hashed != ctx.size || local != ctx.digest) {
    Call drop = blob_call(ctx, "DELETE", url, "drop upload");
    drop.retry = false;
    (void)ctx.impl.send(drop, TransferControl{});
    return make_error(ErrorCode::kDataLoss, ctx.what + ": " + ctx.source.describe() +
                                                " hashes to " + local +
                                                ", not to its digest; upload abandoned");
  }
  Call put = blob_call(ctx, "PUT", RegistryClient::Impl::with_query(url, "digest", ctx.digest),
                       ctx.what + " (commit)");
  put.request.headers = {kOctetStream};
  put.retry = false;
  auto response = ctx.impl.send(put, ctx.control);
  if (!response) return fail_from_error(response.error(), failure);
  return finish(ctx, *response, put.what, sent, true, failure);
}

// Bytes of an open file, read with pread.
class FileSource : public BlobSource {
 public:
  FileSource(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Result<std::unique_ptr<RequestBody>> range(std::int64_t offset, std::int64_t length,
                                             oci::Sha256* hasher, std::int64_t* hashed_upto,
                                             const TransferControl&) override {
    return std::unique_ptr<RequestBody>(
        std::make_unique<FileRangeBody>(fd_, offset, length, hasher, hashed_upto));
  }
  std::string describe() const override { return "the local file " + path_; }

 private:
  int fd_;
  std::string path_;
};

}  // namespace

Result<UploadResult> upload_from(RegistryClient& client, RegistryClient::Impl& impl,
                                 const std::string& repository, const std::string& digest,
                                 std::int64_t size, BlobSource& source, bool chunked,
                                 const TransferControl& control, const std::string& upload_url) {
  UploadContext ctx{impl,
                    repository,
                    digest,
                    size,
                    source,
                    control,
                    std::string(chunked ? "chunked" : "monolithic") + " upload of " + digest +
                        " (" + std::to_string(size) + " bytes) to " + impl.options.host + "/" +
                        repository};
  const int max_attempts = std::max(1, impl.options.retry.max_attempts);
  std::string session = upload_url;
  for (int attempt = 1;; ++attempt) {
    AttemptFailure failure;
    Result<UploadResult> result = make_error(ErrorCode::kInternal, "not attempted");
    if (session.empty()) {
      auto started = start_upload(ctx, &failure);
      if (started)
        session = std::move(*started);
      else
        result = started.error();
    }
    if (!session.empty()) {
      result = chunked ? upload_chunked(ctx, session, &failure)
                       : upload_monolithic(ctx, session, &failure);
    }
    if (result) {
      result->attempts = attempt;
      log::debug("blob uploaded", {{"repository", repository},
                                   {"digest", digest},
                                   {"bytes", size},
                                   {"chunked", chunked},
                                   {"attempts", attempt}});
      return result;
    }
    const Error error = result.error();
    if (error.code == ErrorCode::kCancelled) {
      (void)client.cancel_upload(session);
      return error;
    }
    session.clear();
    if (!failure.retryable || attempt >= max_attempts) return error;
    // The failed request may have completed on the registry's side: check before re-sending.
    if (auto exists = client.blob_exists(repository, digest, control); exists && exists->exists) {
      return UploadResult{digest, 0, chunked, attempt};
    }
    const auto delay =
        failure.delay.value_or(backoff_delay(impl.options.retry, attempt, random_unit()));
    log::warn("blob upload failed, restarting", {{"op", ctx.what},
                                                 {"error", error.message},
                                                 {"attempt", attempt},
                                                 {"delay_ms", delay.count()}});
    if (auto s = sleep_unless_cancelled(delay, control.cancel); !s) return s.error();
  }
}

Result<UploadResult> RegistryClient::upload_blob(const std::string& repository,
                                                 const BlobFile& blob,
                                                 const TransferControl& control,
                                                 const std::string& upload_url) {
  if (!oci::is_valid_repository(repository)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid repository name \"" + repository + "\"");
  }
  if (auto d = oci::Digest::parse(blob.digest); !d) return d.error();
  FileHandle file(blob.path);
  if (file.fd() < 0) {
    return make_error(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInternal,
                      "cannot open blob " + blob.path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(file.fd(), &st) != 0 || st.st_size != blob.size) {
    return make_error(ErrorCode::kDataLoss, "blob " + blob.digest + " at " + blob.path + " has " +
                                                std::to_string(st.st_size) +
                                                " bytes, its descriptor says " +
                                                std::to_string(blob.size));
  }
  FileSource source(file.fd(), blob.path);
  return upload_from(*this, *impl_, repository, blob.digest, blob.size, source,
                     blob.size > impl_->options.chunked_threshold, control, upload_url);
}

}  // namespace kiln::registry
