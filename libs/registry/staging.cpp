#include "registry/staging.h"

#include <charconv>

#include "oci/digest.h"
#include "oci/reference.h"

namespace kiln::registry {

void bind_staging(Config& config, StagingOptions& options, bool sweeps) {
  config
      .bind("staging.registry", options.registry,
            "Registry (host[:port]) where builders leave built images for pushers: the hand-over "
            "between them, so they share no disk. Must allow deletes")
      .not_empty();
  config
      .bind("staging.repository", options.repository,
            "Repository on staging.registry that holds staged images (one tag per build attempt)")
      .not_empty();
  if (!sweeps) return;
  config
      .bind("staging.max-age-hours", options.max_age_hours,
            "Staged images older than this are deleted by the pushers' sweep (a promoted image's "
            "is deleted at once)")
      .range(1, 24 * 365);
}

std::string staging_tag(const std::string& build_id, int attempt, std::int64_t unix_seconds,
                        const std::string& random) {
  std::string build = build_id;
  if (!oci::is_valid_tag(build) || build.size() > 64 || build.find('-') == 0) {
    build = oci::sha256_digest(build_id).substr(7, 32);
  }
  std::string tag = build;
  tag += "-a";
  tag += std::to_string(attempt);
  tag += '-';
  tag += std::to_string(unix_seconds);
  tag += '-';
  tag += random;
  return tag;
}

std::optional<std::int64_t> staged_at(const std::string& tag) {
  // ...-a<attempt>-<seconds>-<random>: the seconds sit between the last two dashes.
  const auto last = tag.rfind('-');
  if (last == std::string::npos || last == 0 || last + 1 == tag.size()) return std::nullopt;
  const auto before = tag.rfind('-', last - 1);
  if (before == std::string::npos) return std::nullopt;
  const auto attempt = tag.rfind("-a", before == 0 ? 0 : before - 1);
  if (attempt == std::string::npos || attempt == 0 || attempt + 2 >= before) return std::nullopt;
  for (auto i = attempt + 2; i < before; ++i) {
    if (tag[i] < '0' || tag[i] > '9') return std::nullopt;
  }
  std::int64_t seconds = 0;
  const char* begin = tag.data() + before + 1;
  const char* end = tag.data() + last;
  auto [ptr, ec] = std::from_chars(begin, end, seconds);
  if (ec != std::errc() || ptr != end || begin == end) return std::nullopt;
  return seconds;
}

}  // namespace kiln::registry
