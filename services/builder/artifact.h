// The artifact a build leaves: the OCI image layout `buildah push oci:` wrote, summarised into
// the fields of `built` (digests, layers, sizes).
#pragma once

#include <map>
#include <string>

#include "common/result.h"
#include "kiln/events/v1/events.pb.h"

namespace kiln::builder {

// Sets `annotations` on the manifest tagged `latest` (rewriting the blob and index.json when that
// changes its bytes). buildah records annotations when it commits an image, so a fully cached
// rebuild would otherwise carry the build id, revision and created time of the build that first
// made the image.
Status annotate_layout(const std::string& layout_dir,
                       const std::map<std::string, std::string>& annotations);

// Fills the manifest/config digests, layers, image size and manifest media type.
Status describe_layout(const std::string& layout_dir, events::v1::ImageBuilt& built);

}  // namespace kiln::builder
