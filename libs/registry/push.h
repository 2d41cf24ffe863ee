// push_layout: pushes one image of an OCI image layout directory to a repository (the builder
// stages its images so, the CLI pushes layouts so); copy_image: copies an image from one
// registry repository to another (the pusher promotes staged images so).
//
//   RegistryClient client(options);
//   PushRequest req;
//   req.layout_dir = "/artifacts/<build>/oci";
//   req.repository = "team/app";
//   req.tags = {"latest", "1.4.2"};
//   req.mount_from = {"team/base"};          // optional cross-repository mount sources
//   req.cancel = cancel_when(&stop_flag);
//   auto report = push_layout(client, req);  // Result<PushReport>
//
// Steps: open the layout and pick the manifest (PushRequest::ref_name, or the only one). Read
// it (for an image index: each child manifest too). Then, for every distinct blob (config and
// layers of every manifest), with client.options().parallelism workers on pooled keep-alive
// connections: HEAD -> skip when present; else try a mount from each mount_from repository;
// else upload (monolithic or chunked, streamed from disk, digest-checked). Only when every
// blob is in place: PUT child manifests by digest, then the manifest under each tag (by digest
// when there are no tags). A failure stops the other workers and returns the first error; no
// manifest is pushed then, so a failed push never leaves a tag pointing at a broken image.
// Pushing again is cheap: present blobs are skipped with one HEAD each.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "registry/client.h"
#include "registry/options.h"

namespace kiln::registry {

enum class BlobOutcome {
  kPresent,   // HEAD found it: nothing sent
  kMounted,   // cross-repository mount: nothing sent
  kUploaded,  // the bytes were sent
};

std::string_view to_string(BlobOutcome outcome);

struct PushProgress {
  enum class Kind {
    kBlobDone,        // digest, size, outcome; blobs_done of blobs_total
    kBytes,           // bytes: more bytes sent (deltas; a retried upload counts again)
    kManifestPushed,  // reference (tag or digest), digest
  };
  Kind kind = Kind::kBlobDone;
  std::string digest;
  std::int64_t size = 0;
  BlobOutcome outcome = BlobOutcome::kUploaded;
  std::int64_t bytes = 0;
  std::string reference;
  int blobs_done = 0;
  int blobs_total = 0;
};

struct PushRequest {
  std::string layout_dir;
  // The index.json entry to push, by its org.opencontainers.image.ref.name annotation; empty =
  // the only entry.
  std::string ref_name;
  std::string repository;         // "team/app" (on client.options().host)
  std::vector<std::string> tags;  // empty = push the manifest by digest only
  // Repositories on the same registry to try a cross-repository mount from, in order.
  std::vector<std::string> mount_from;
  // Called from worker threads but never concurrently (calls are serialized); keep it cheap.
  std::function<void(const PushProgress&)> on_progress;
  // Checked between blobs and during transfers; a cancelled push returns kCancelled and pushes
  // no manifest.
  CancelFn cancel;
};

struct PushReport {
  std::string manifest_digest;  // digest of the pushed (top-level) manifest
  std::string media_type;       // its media type
  // "<host>/<repository>:<tag>" for each tag, then "<host>/<repository>@<digest>".
  std::vector<std::string> image_refs;
  std::int64_t bytes_total = 0;     // sum of the distinct blobs' sizes
  std::int64_t bytes_uploaded = 0;  // blob bytes sent (manifests not counted)
  std::int64_t bytes_skipped = 0;   // blob bytes already present or mounted
  int blobs_uploaded = 0;
  int blobs_skipped = 0;  // already present
  int blobs_mounted = 0;
  int manifests_pushed = 0;  // PUTs (tags + child manifests)
  std::chrono::milliseconds duration{0};
};

Result<PushReport> push_layout(RegistryClient& client, const PushRequest& request);

// An image in a registry: the manifest `digest` in `repository` on the registry `client` speaks
// to (it must outlive the copy).
struct RegistryImage {
  RegistryClient* client = nullptr;
  std::string repository;
  std::string digest;
};

// Copies `source` to request.repository (tags, progress and cancel as in push_layout;
// layout_dir and ref_name are unused). The manifests are read from the source registry; each
// missing blob is mounted from the source repository when both are on the same registry (no
// bytes move), else streamed registry to registry in chunks of options().chunk_size (nothing on
// local disk). The manifests are put only when every blob is in place.
Result<PushReport> copy_image(RegistryClient& client, const RegistryImage& source,
                              const PushRequest& request);

}  // namespace kiln::registry
