// The layer cache every builder shares, one registry repository per project
// (<staging registry>/<cache.shared-repository>/<project>). buildah finds a cached step by the
// images in its own storage (parent layer and history must match), not by name, so sharing is
// moving step images: after a build, its step images are pushed, tagged
// "<unix seconds>-<image id>"; before a build, the images of the project's repository this
// builder lacks are pulled. Both run outside the build's network namespace, so RUN steps never
// reach the cache (no step can write what another build will trust).
//
// buildah 1.28's own --cache-to/--cache-from would do the pushes and pulls inside `bud`, which
// runs in a network namespace with no route out when RUN steps get no network.
//
// Bounded: an image not pushed or refreshed (re-tagged once a quarter of the age bound has
// passed since its newest tag) for cache.shared-max-age-hours is deleted, and so are the oldest
// past cache.shared-max-images, by the builder that publishes next. Blobs go with the
// registry's garbage collection, as for staging.
//
// Error convention: Result<T>. The cache never fails a build: callers log and count errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "builder/build_engine.h"
#include "common/config.h"
#include "common/result.h"
#include "http/metrics.h"
#include "registry/clients.h"

namespace kiln::builder {

struct SharedCacheOptions {
  bool enabled = true;
  std::string repository = "kiln-cache";  // the prefix of every project's repository
  int max_age_hours = 168;
  int max_images = 200;  // per project
};

void bind_shared_cache(Config& config, SharedCacheOptions& options);

// "<unix seconds>-<64 hex image id>".
std::string cache_tag(std::int64_t unix_seconds, const std::string& image_id);

// One cached image and every tag it has in the repository, the newest first.
struct CacheEntry {
  std::string id;  // 64 hex
  std::int64_t newest = 0;
  std::vector<std::string> tags;
};

// The repository's tags grouped by image, the most recently tagged image first; tags that
// cache_tag did not make are ignored.
std::vector<CacheEntry> cache_entries(const std::vector<std::string>& tags);

// Entries (as cache_entries orders them) that are older than `max_age_seconds` at `now` or past
// the first `max_images`.
std::vector<CacheEntry> expired_entries(const std::vector<CacheEntry>& entries,
                                        std::int64_t now_seconds, std::int64_t max_age_seconds,
                                        int max_images);

// A project's repository path (no host): "<prefix>/<project>", or "<prefix>/p-<sha256 prefix>"
// for a project name that is not a valid repository component.
std::string cache_repository(const std::string& prefix, const std::string& project);

class SharedCache {
 public:
  SharedCache(SharedCacheOptions options, std::string registry, BuildEngine& engine,
              registry::RegistryClients& registries, http::Metrics& metrics);

  bool enabled() const { return options_.enabled && !registry_.empty(); }

  // Pulls the project's cached images this storage lacks (the newest first); returns how many.
  // A pull that fails (an image deleted meanwhile) is counted and skipped.
  Result<int> warm(const std::string& project, const LineSink& sink, const RunControl& control);

  struct Published {
    int pushed = 0;
    int expired = 0;
  };
  // Pushes the step images of the build that made `image_id` and deletes expired entries.
  // `build_started_ms` > 0 adds every image created since (other stages of the build); pass it
  // only when no other build shared the storage meanwhile.
  Result<Published> publish(const std::string& project, const std::string& image_id,
                            std::int64_t build_started_ms, const RunControl& control);

 private:
  Result<int> delete_expired(registry::RegistryClient& client, const std::string& repository,
                             const std::vector<CacheEntry>& entries, std::int64_t now_seconds);

  SharedCacheOptions options_;
  std::string registry_;
  BuildEngine& engine_;
  registry::RegistryClients& registries_;
  http::Metrics& metrics_;
};

}  // namespace kiln::builder
