// OCI / Docker v2 image manifests and indexes: descriptors and the parsed form of a manifest,
// always kept together with its exact bytes (a manifest is pushed byte for byte, since its
// digest is the sha256 of those bytes).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kiln::oci {

inline constexpr std::string_view kMediaTypeOciManifest =
    "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kMediaTypeOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kMediaTypeDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kMediaTypeDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
// The annotation in index.json that names a manifest (buildah push oci:DIR:TAG sets it to TAG).
inline constexpr std::string_view kAnnotationRefName = "org.opencontainers.image.ref.name";

bool is_index_media_type(std::string_view media_type);
bool is_manifest_media_type(std::string_view media_type);  // image manifest or index

struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<hex>", validated by the parser
  std::int64_t size = 0;
  std::map<std::string, std::string> annotations;
  // Only for entries of an index: "os/architecture[/variant]" when the entry has a platform.
  std::string platform;
};

struct Manifest {
  // The manifest's own "mediaType" field; when absent, the media type of the descriptor that
  // pointed at it; when that is absent too, kMediaTypeOciManifest or kMediaTypeOciIndex.
  std::string media_type;
  std::string digest;  // sha256 of `raw`
  std::string raw;     // the exact bytes

  // Image manifest: config and layers, in manifest order.
  std::optional<Descriptor> config;
  std::vector<Descriptor> layers;
  // Image index / manifest list: the child manifests.
  std::vector<Descriptor> manifests;

  bool is_index() const { return is_index_media_type(media_type); }
  // Config then layers (empty for an index).
  std::vector<Descriptor> blobs() const;
  // Sum of config and layer sizes plus the manifest's own size.
  std::int64_t content_size() const;
};

// Parses one descriptor object's JSON text (used by tests and the layout reader).
Result<Descriptor> parse_descriptor_json(std::string_view json);

// Parses `raw` as an image manifest or an index. `fallback_media_type` is used when the JSON has
// no mediaType field (OCI makes it optional). Every digest is validated; a size must be >= 0.
// Errors are kInvalidArgument naming the offending field.
Result<Manifest> parse_manifest(std::string raw, std::string_view fallback_media_type = {});

}  // namespace kiln::oci
