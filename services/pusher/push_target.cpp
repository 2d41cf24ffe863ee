#include "pusher/push_target.h"

#include <algorithm>
#include <cctype>

#include "oci/reference.h"

namespace kiln::pusher {
namespace {

// host[:port] with letters, digits, '.', '-', '_' and one port: no scheme, path or user info.
bool is_valid_host(const std::string& host) {
  if (host.empty() || host.size() > 255) return false;
  const auto colon = host.find(':');
  const std::string name = host.substr(0, colon);
  if (name.empty()) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
      return false;
    }
  }
  if (colon == std::string::npos) return true;
  const std::string port = host.substr(colon + 1);
  return !port.empty() && port.size() <= 5 &&
         std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string PushTarget::tag_url(const std::string& tag) const {
  return repository_url() + ":" + tag;
}

std::string PushTarget::digest_url(const std::string& digest) const {
  return repository_url() + "@" + digest;
}

Result<PushTarget> push_target(const events::v1::BuildSpec& spec) {
  PushTarget target;
  target.host = spec.registry();
  target.repository = spec.image_repository();
  if (target.host.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "spec.registry is empty: nowhere to push");
  }
  if (!is_valid_host(target.host)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "spec.registry '" + target.host + "' is not a host[:port]");
  }
  if (!oci::is_valid_repository(target.repository)) {
    return make_error(ErrorCode::kInvalidArgument, "spec.image_repository '" + target.repository +
                                                       "' is not a valid repository name");
  }
  for (const auto& tag : spec.tags()) {
    if (!oci::is_valid_tag(tag)) {
      return make_error(ErrorCode::kInvalidArgument, "spec.tags: '" + tag + "' is not a valid tag");
    }
    if (std::find(target.tags.begin(), target.tags.end(), tag) == target.tags.end()) {
      target.tags.push_back(tag);
    }
  }
  if (target.tags.empty()) target.tags.push_back(kDefaultTag);
  return target;
}

}  // namespace kiln::pusher
