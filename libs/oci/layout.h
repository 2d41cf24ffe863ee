// Reading an OCI image layout directory, as written by `buildah push IMAGE oci:DIR:TAG` or
// `skopeo copy ... oci:DIR:TAG`:
//
//   DIR/oci-layout                {"imageLayoutVersion": "1.0.0"}
//   DIR/index.json                an image index whose manifests[] are the images in the layout,
//                                 named by the annotation org.opencontainers.image.ref.name
//   DIR/blobs/sha256/<hex>        every blob: manifests, configs, layers
//
// ImageLayout only reads; it is cheap to copy and safe to use from several threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "oci/manifest.h"

namespace kiln::oci {

class ImageLayout {
 public:
  // Checks oci-layout (imageLayoutVersion 1.x) and parses index.json. kNotFound when `dir` or its
  // index.json does not exist, kInvalidArgument when they are malformed.
  static Result<ImageLayout> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  // The entries of index.json, in file order.
  const std::vector<Descriptor>& entries() const { return entries_; }

  // The index.json entry to push. With an empty `ref_name`: the only entry (kFailedPrecondition
  // when the layout holds several, listing their names). Otherwise the entry whose
  // org.opencontainers.image.ref.name annotation equals `ref_name` (kNotFound if none).
  Result<Descriptor> find(std::string_view ref_name = {}) const;

  // DIR/blobs/<algorithm>/<hex>. `digest` must be valid (see Digest::parse); callers that got it
  // from a parsed manifest have that guarantee.
  std::string blob_path(std::string_view digest) const;

  // Size of the blob file on disk; kNotFound when missing.
  Result<std::int64_t> blob_size(std::string_view digest) const;

  // Reads a small blob (manifest, config) whole, checking size and digest against `d`.
  // kDataLoss on mismatch; kResourceExhausted when d.size exceeds `max_size`.
  Result<std::string> read_blob(const Descriptor& d, std::int64_t max_size = 16 << 20) const;

  // Reads and parses the manifest or index `d` points at (digest-checked).
  Result<Manifest> read_manifest(const Descriptor& d) const;

  // Streams the blob file through sha256 and checks digest and size. kDataLoss on mismatch,
  // kNotFound when the file is missing.
  Status verify_blob(const Descriptor& d) const;

 private:
  std::string dir_;
  std::vector<Descriptor> entries_;
};

}  // namespace kiln::oci
