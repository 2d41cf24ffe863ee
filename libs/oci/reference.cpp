#include "oci/reference.h"

#include <regex>

#include "oci/digest.h"

namespace kiln::oci {

bool is_valid_repository(std::string_view name) {
  static const std::regex kRepo(
      "[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*");
  return !name.empty() && name.size() <= 255 && std::regex_match(name.begin(), name.end(), kRepo);
}

bool is_valid_tag(std::string_view tag) {
  static const std::regex kTag("[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");
  return std::regex_match(tag.begin(), tag.end(), kTag);
}

std::string ImageReference::str() const {
  std::string out = host + "/" + repository;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

Result<ImageReference> parse_image_reference(std::string_view text, std::string_view default_host) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid image reference \"" + std::string(text) + "\": " + why);
  };
  ImageReference ref;
  std::string_view rest = text;
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    if (!is_valid_digest(ref.digest)) return bad("bad digest");
    rest = rest.substr(0, at);
  }
  const auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    const std::string_view first = rest.substr(0, slash);
    if (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
        first == "localhost") {
      ref.host = std::string(first);
      rest = rest.substr(slash + 1);
    }
  }
  if (ref.host.empty()) {
    if (default_host.empty()) return bad("no registry host");
    ref.host = std::string(default_host);
  }
  const auto last_slash = rest.rfind('/');
  const auto colon = rest.rfind(':');
  if (colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || colon > last_slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!is_valid_tag(ref.tag)) return bad("bad tag \"" + ref.tag + "\"");
  }
  ref.repository = std::string(rest);
  if (!is_valid_repository(ref.repository)) {
    return bad("bad repository name \"" + ref.repository + "\"");
  }
  return ref;
}

}  // namespace kiln::oci
