#include "builder/shared_cache.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "builder/metrics.h"
#include "common/ids.h"
#include "common/log.h"
#include "oci/digest.h"
#include "oci/reference.h"

namespace kiln::builder {
namespace {

std::string strip_algorithm(const std::string& id) {
  return id.rfind("sha256:", 0) == 0 ? id.substr(7) : id;
}

bool is_hex_id(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

registry::TransferControl transfer_control(const RunControl& control) {
  registry::TransferControl transfer;
  if (control.cancel != nullptr) {
    transfer.cancel = [cancel = control.cancel] { return cancel->cancelled(); };
  }
  return transfer;
}

}  // namespace

void bind_shared_cache(Config& config, SharedCacheOptions& options) {
  config.bind("cache.shared", options.enabled,
              "Share the layer cache with every builder through staging.registry: step images "
              "are pushed after a build and pulled before one, per project");
  config
      .bind("cache.shared-repository", options.repository,
            "Repository prefix of the shared layer cache on staging.registry (one repository "
            "per project below it)")
      .not_empty();
  config
      .bind("cache.shared-max-age-hours", options.max_age_hours,
            "A shared step image not used for this long is deleted (the registry's garbage "
            "collection frees its blobs)")
      .range(1, 24 * 365);
  config
      .bind("cache.shared-max-images", options.max_images,
            "Step images kept per project in the shared cache; the least recently used go first")
      .range(1, 100000);
}

std::string cache_tag(std::int64_t unix_seconds, const std::string& image_id) {
  return std::to_string(unix_seconds) + "-" + strip_algorithm(image_id);
}

std::vector<CacheEntry> cache_entries(const std::vector<std::string>& tags) {
  std::map<std::string, CacheEntry> by_id;
  for (const auto& tag : tags) {
    const auto dash = tag.find('-');
    if (dash == std::string::npos || dash == 0) continue;
    std::int64_t seconds = 0;
    const auto [end, ec] = std::from_chars(tag.data(), tag.data() + dash, seconds);
    if (ec != std::errc() || end != tag.data() + dash) continue;
    const std::string id = tag.substr(dash + 1);
    if (!is_hex_id(id)) continue;
    auto& entry = by_id[id];
    entry.id = id;
    entry.newest = std::max(entry.newest, seconds);
    entry.tags.push_back(tag);
  }
  std::vector<CacheEntry> entries;
  for (auto& [id, entry] : by_id) entries.push_back(std::move(entry));
  std::sort(entries.begin(), entries.end(), [](const CacheEntry& a, const CacheEntry& b) {
    return a.newest != b.newest ? a.newest > b.newest : a.id < b.id;
  });
  return entries;
}

std::vector<CacheEntry> expired_entries(const std::vector<CacheEntry>& entries,
                                        std::int64_t now_seconds, std::int64_t max_age_seconds,
                                        int max_images) {
  std::vector<CacheEntry> expired;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const bool too_old = entries[i].newest < now_seconds - max_age_seconds;
    const bool too_many = i >= static_cast<std::size_t>(std::max(max_images, 0));
    if (too_old || too_many) expired.push_back(entries[i]);
  }
  return expired;
}

std::string cache_repository(const std::string& prefix, const std::string& project) {
  const std::string path = prefix + "/" + project;
  if (project.find('/') == std::string::npos && oci::is_valid_repository(path)) return path;
  return prefix + "/p-" + oci::sha256_digest(project).substr(7, 24);
}

SharedCache::SharedCache(SharedCacheOptions options, std::string registry, BuildEngine& engine,
                         registry::RegistryClients& registries, http::Metrics& metrics)
    : options_(std::move(options)),
      registry_(std::move(registry)),
      engine_(engine),
      registries_(registries),
      metrics_(metrics) {}

Result<int> SharedCache::warm(const std::string& project, const LineSink& sink,
                              const RunControl& control) {
  auto client = registries_.get(registry_);
  if (!client.ok()) return client.error();
  const std::string repository = cache_repository(options_.repository, project);
  auto tags = (*client)->list_tags(repository, transfer_control(control));
  if (!tags.ok()) return tags.error();
  const auto entries = cache_entries(*tags);
  const std::int64_t now_seconds = now_ms() / 1000;
  const std::int64_t max_age = std::int64_t{options_.max_age_hours} * 3600;
  int pulled = 0;
  for (std::size_t i = 0; i < entries.size() && i < static_cast<std::size_t>(options_.max_images);
       ++i) {
    const CacheEntry& entry = entries[i];
    if (entry.newest < now_seconds - max_age) break;  // the rest are older still
    if (control.cancel != nullptr && control.cancel->cancelled()) break;
    auto held = engine_.has_image(entry.id);
    if (!held.ok()) return held.error();
    if (*held) continue;
    const std::string reference = registry_ + "/" + repository + ":" + entry.tags.front();
    auto run = engine_.pull(reference, sink, control);
    if (!run.ok() || !run->ok()) {
      // Deleted by an expiry since the listing, or the registry failed: a miss, not a failure.
      metrics_.counter_add(metric::kSharedCacheErrors, {{"operation", "pull"}});
      log::warn("shared cache image not pulled",
                {{"reference", reference},
                 {"error",
                  run.ok() ? "exit " + std::to_string(run->exit_code) : run.error().describe()}});
      continue;
    }
    ++pulled;
    metrics_.counter_add(metric::kSharedCachePulled);
  }
  return pulled;
}

Result<SharedCache::Published> SharedCache::publish(const std::string& project,
                                                    const std::string& image_id,
                                                    std::int64_t build_started_ms,
                                                    const RunControl& control) {
  auto client = registries_.get(registry_);
  if (!client.ok()) return client.error();
  const std::string repository = cache_repository(options_.repository, project);
  const std::string names_prefix = registry_ + "/" + repository + ":";
  auto steps = engine_.step_images(image_id, build_started_ms, names_prefix);
  if (!steps.ok()) return steps.error();
  auto tags = (*client)->list_tags(repository, transfer_control(control));
  if (!tags.ok()) return tags.error();
  auto entries = cache_entries(*tags);

  const std::int64_t now_seconds = now_ms() / 1000;
  const std::int64_t max_age = std::int64_t{options_.max_age_hours} * 3600;
  std::map<std::string, std::int64_t> newest;
  for (const auto& entry : entries) newest[entry.id] = entry.newest;
  Published published;
  for (const auto& id : *steps) {
    // A quarter of the age bound between refreshes: a used image never expires, and a
    // steady stream of builds costs no push of what is already there.
    if (auto it = newest.find(id); it != newest.end() && it->second >= now_seconds - max_age / 4) {
      continue;
    }
    const std::string tag = cache_tag(now_seconds, id);
    auto run = engine_.push_image(id, registry_ + "/" + repository + ":" + tag, {}, control);
    if (!run.ok()) return run.error();
    if (!run->ok()) {
      return make_error(ErrorCode::kUnavailable, "buildah push of step image " + id.substr(0, 12) +
                                                     " exited with " +
                                                     std::to_string(run->exit_code));
    }
    ++published.pushed;
    metrics_.counter_add(metric::kSharedCachePushed);
    tags->push_back(tag);
  }
  auto expired = delete_expired(**client, repository, cache_entries(*tags), now_seconds);
  if (!expired.ok()) return expired.error();
  published.expired = *expired;
  return published;
}

Result<int> SharedCache::delete_expired(registry::RegistryClient& client,
                                        const std::string& repository,
                                        const std::vector<CacheEntry>& entries,
                                        std::int64_t now_seconds) {
  const auto expired = expired_entries(
      entries, now_seconds, std::int64_t{options_.max_age_hours} * 3600, options_.max_images);
  int deleted = 0;
  for (const auto& entry : expired) {
    // A manifest delete takes every tag pointing at it; all of this image's tags are expired.
    std::set<std::string> digests;
    for (const auto& tag : entry.tags) {
      auto manifest = client.get_manifest(repository, tag);
      if (!manifest.ok()) {
        if (manifest.error().code == ErrorCode::kNotFound) continue;  // another builder's delete
        return manifest.error();
      }
      digests.insert(manifest->digest);
    }
    for (const auto& digest : digests) {
      if (auto s = client.delete_manifest(repository, digest); !s.ok()) return s.error();
    }
    ++deleted;
    metrics_.counter_add(metric::kSharedCacheExpired);
  }
  return deleted;
}

}  // namespace kiln::builder
