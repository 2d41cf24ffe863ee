// The artifact a build leaves: the OCI image layout `buildah push oci:` wrote, summarised into
// the fields of `built` (digests, layers, sizes).
#pragma once

#include <string>

#include "common/result.h"
#include "kiln/events/v1/events.pb.h"

namespace kiln::builder {

// Fills artifact_location, manifest/config digests, layers, image size and manifest media type.
Status describe_layout(const std::string& layout_dir, events::v1::ImageBuilt& built);

}  // namespace kiln::builder
