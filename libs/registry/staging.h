// The staging repository: the claim check between builder and pusher. A builder pushes the
// image it built to <staging registry>/<staging repository>:<tag> and its `built` event carries
// that reference; a pusher promotes it to the target (a cross-repository mount on the same
// registry, a registry-to-registry stream otherwise), then deletes the staged manifest. So no
// two services share a disk. Tags name the build, the attempt and the time, which the pusher's
// sweep uses to delete staged images nobody promoted (a build cancelled or failed after
// `built`, an attempt that lost the `built` fence).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/config.h"

namespace kiln::registry {

struct StagingOptions {
  std::string registry = "127.0.0.1:5000";  // host[:port]: the local stack's registry
  std::string repository = "kiln-staging";
  int max_age_hours = 24;  // a staged image older than this is deleted by the pusher's sweep
};

// Binds staging.registry and staging.repository, and with `sweeps` staging.max-age-hours.
void bind_staging(Config& config, StagingOptions& options, bool sweeps);

// "<build id>-a<attempt>-<unix seconds>-<random>" (a build id that is not a valid tag part is
// replaced by its sha256 prefix, so the tag stays valid).
std::string staging_tag(const std::string& build_id, int attempt, std::int64_t unix_seconds,
                        const std::string& random);

// When a tag made by staging_tag was made; nullopt for any other tag.
std::optional<std::int64_t> staged_at(const std::string& tag);

}  // namespace kiln::registry
