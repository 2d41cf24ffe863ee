// What a buildah storage (containers/storage, vfs driver) holds, read from its own metadata
// files (vfs-images/images.json, vfs-layers/layers.json) without starting buildah. The files are
// replaced atomically by containers/storage, so an unlocked read sees one whole state.
//
// Error convention: Result<T>; a missing file is an empty storage, a malformed one kDataLoss.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace kiln::builder {

struct StoredImage {
  std::string id;  // 64 hex, no "sha256:"
  std::vector<std::string> names;
  std::string top_layer;
  std::int64_t created_ms = 0;  // 0 when the storage gives no time
};

struct StoredLayer {
  std::string id;
  std::string parent;  // empty for a bottom layer
};

struct StorageState {
  std::vector<StoredImage> images;
  std::vector<StoredLayer> layers;
};

// Reads <root>/vfs-images/images.json and <root>/vfs-layers/layers.json.
Result<StorageState> read_storage(const std::string& root);

// "2026-12-07T12:52:50.11932399Z" into Unix milliseconds; 0 when malformed.
std::int64_t parse_storage_time(const std::string& text);

// The images that are steps of a build whose final image is `final_id` ("sha256:" optional):
// every image whose top layer is one of the final image's layers (a step that adds no layer
// shares its parent's), and, when `created_since_ms` > 0, every image created since then (the
// other stages of a multi-stage build, which share no layer with the final image). An image
// named outside `names_prefix` ("host/repo:"; a base image, say) is never one. Ids in storage
// order, no duplicates; the final image is among them.
std::vector<std::string> build_step_images(const StorageState& storage, const std::string& final_id,
                                           std::int64_t created_since_ms,
                                           const std::string& names_prefix);

// Whether the storage holds an image with this id ("sha256:" optional).
bool holds_image(const StorageState& storage, const std::string& id);

}  // namespace kiln::builder
