// kiln::registry::RegistryClient — an OCI distribution API client for one registry host, over
// libcurl. Used by the pusher service, the CLI and tests.
//
//   RegistryOptions opt;
//   opt.host = "127.0.0.1:5000";
//   opt.insecure = true;                         // plain http for a local registry
//   opt.credentials = *resolve_credentials(opt.host);
//   RegistryClient client(opt);
//   auto exists = client.blob_exists("team/app", "sha256:...");
//
// For pushing a whole OCI layout use push_layout() in registry/push.h.
//
// Every method is thread-safe and may be called concurrently: each call borrows a pooled curl
// handle (keep-alive connections are reused across calls). Every method:
//  - authenticates as the registry asks: anonymous until a 401; then Basic with the configured
//    credentials, or a Bearer token from the challenge's realm for the scope
//    "repository:<repository>:pull,push" (plus "repository:<from>:pull" for a mount), cached and
//    refreshed before it expires or when the registry refuses it;
//  - retries connection errors, timeouts, 408, 429 (honouring Retry-After) and 5xx with
//    exponential backoff and jitter (RegistryOptions::retry); never other 4xx;
//  - returns registry errors as kiln::Error with peer_code = the registry's error code
//    (DIGEST_INVALID, DENIED, UNAUTHORIZED, NAME_UNKNOWN, ...) or "HTTP <status>";
//  - honours TransferControl::cancel (kCancelled) and reports bytes via on_bytes;
//  - never logs credentials, tokens or Authorization headers, and never sends Authorization to
//    another host than the registry's (redirects to another host go without it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "registry/options.h"

namespace kiln::registry {

struct BlobInfo {
  bool exists = false;
  std::int64_t size = -1;  // Content-Length of the HEAD response when it exists
};

struct MountResult {
  bool mounted = false;  // 201: the blob is now in the repository
  // When not mounted (202): the upload session the registry opened instead; pass it to
  // upload_blob to upload into it (saves a POST), or drop it with cancel_upload.
  std::string upload_url;
};

// A blob on local disk.
struct BlobFile {
  std::string path;
  std::string digest;  // "sha256:<hex>"
  std::int64_t size = 0;
};

struct UploadResult {
  std::string digest;           // as confirmed by the registry's Docker-Content-Digest
  std::int64_t bytes_sent = 0;  // body bytes of the successful attempt
  bool chunked = false;
  int attempts = 1;  // whole-upload attempts (a failed attempt restarts at POST)
};

struct FetchedManifest {
  std::string media_type;  // Content-Type of the response
  std::string digest;      // sha256 of raw (checked against Docker-Content-Digest)
  std::string raw;
};

class RegistryClient {
 public:
  explicit RegistryClient(RegistryOptions options);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  const RegistryOptions& options() const;
  // "http://host" when insecure, else "https://host".
  const std::string& base_url() const;

  // GET /v2/: checks that the registry speaks the API and that the credentials are accepted.
  Status ping(const TransferControl& control = {});

  // HEAD /v2/<repository>/blobs/<digest>. 404 is {exists = false}, not an error.
  Result<BlobInfo> blob_exists(const std::string& repository, const std::string& digest,
                               const TransferControl& control = {});

  // POST /v2/<repository>/blobs/uploads/?mount=<digest>&from=<from_repository>.
  Result<MountResult> mount_blob(const std::string& repository, const std::string& digest,
                                 const std::string& from_repository,
                                 const TransferControl& control = {});

  // Uploads `blob` streamed from disk (never held in memory), hashing while reading. Blobs up to
  // options().chunked_threshold go in one PUT ?digest= after the POST; larger ones in PATCHes of
  // options().chunk_size with Content-Range, then PUT ?digest=. `upload_url` continues a session
  // opened by mount_blob; empty = POST a new one. A retryable failure restarts the whole upload
  // (a fresh session) up to RetryPolicy::max_attempts. Checks the registry's
  // Docker-Content-Digest and the locally computed sha256 against blob.digest: a local file that
  // does not match gives kDataLoss (peer_code DIGEST_INVALID when the registry said so).
  Result<UploadResult> upload_blob(const std::string& repository, const BlobFile& blob,
                                   const TransferControl& control = {},
                                   const std::string& upload_url = {});

  // Uploads blob `digest` of `size` bytes from `source_repository` on the registry `source`
  // speaks to: ranges fetched with get_blob_range and sent as PATCHes of options().chunk_size,
  // so one chunk is in memory and nothing goes to disk. Retries as upload_blob does.
  Result<UploadResult> copy_blob(RegistryClient& source, const std::string& source_repository,
                                 const std::string& repository, const std::string& digest,
                                 std::int64_t size, const TransferControl& control = {});

  // DELETE of an upload session (best effort, e.g. the unused session of a failed mount).
  Status cancel_upload(const std::string& upload_url);

  // PUT /v2/<repository>/manifests/<reference> with Content-Type `media_type` and the exact
  // bytes `raw`. Returns the digest, after checking that the registry's Docker-Content-Digest
  // equals sha256(raw) (kDataLoss otherwise).
  Result<std::string> put_manifest(const std::string& repository, const std::string& reference,
                                   const std::string& media_type, const std::string& raw,
                                   const TransferControl& control = {});

  // GET /v2/<repository>/manifests/<reference> accepting OCI and Docker v2 manifests and
  // indexes. When `reference` is a digest, the bytes are checked against it (kDataLoss).
  Result<FetchedManifest> get_manifest(const std::string& repository, const std::string& reference,
                                       const TransferControl& control = {});

  // DELETE /v2/<repository>/manifests/<digest>: the manifest and every tag pointing at it leave
  // the repository (blobs stay until the registry's garbage collection). A manifest already gone
  // is not an error. A registry without deletes enabled answers 405 (kFailedPrecondition).
  Status delete_manifest(const std::string& repository, const std::string& digest,
                         const TransferControl& control = {});

  // GET /v2/<repository>/tags/list, following the Link header's pages. A repository that does
  // not exist has no tags.
  Result<std::vector<std::string>> list_tags(const std::string& repository,
                                             const TransferControl& control = {});

  // GET /v2/<repository>/blobs/<digest> with Range: bytes [offset, offset + length) of a blob
  // of `blob_size` bytes, into memory (not digest-checked: a part cannot be). A registry that
  // answers a part with the whole blob (Range not honoured) is kFailedPrecondition; fewer bytes
  // than asked for is kDataLoss.
  Result<std::string> get_blob_range(const std::string& repository, const std::string& digest,
                                     std::int64_t offset, std::int64_t length,
                                     std::int64_t blob_size, const TransferControl& control = {});

  // GET /v2/<repository>/blobs/<digest> into memory (at most max_size bytes, else
  // kResourceExhausted), digest-checked. Follows redirects (without Authorization off-host).
  Result<std::string> get_blob(const std::string& repository, const std::string& digest,
                               std::int64_t max_size = 64 << 20,
                               const TransferControl& control = {});

  // The same, streamed to the file `path` (created or truncated); the file is removed when the
  // content does not match `digest`.
  Status get_blob_to_file(const std::string& repository, const std::string& digest,
                          const std::string& path, const TransferControl& control = {});

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::registry
