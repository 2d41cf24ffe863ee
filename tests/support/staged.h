// What a builder staged, read back from its registry (plain HTTP, anonymous): the tests' view of
// the claim check a `built` event carries.
#pragma once

#include <string>
#include <vector>

#include "kiln/events/v1/events.pb.h"
#include "oci/manifest.h"

namespace kiln::testing {

struct StagedContent {
  oci::Manifest manifest;           // fetched by the staging tag; its digest is the event's
  std::string config;               // the config blob (digest-checked)
  std::vector<std::string> layers;  // each layer blob (digest-checked), in manifest order
};

// Reads the staged image `built` names; throws std::runtime_error on any mismatch or error.
StagedContent read_staged(const events::v1::ImageBuilt& built);

// Whether the registry still holds the staged image's tag.
bool is_staged(const events::v1::StagedImage& staged);

}  // namespace kiln::testing
