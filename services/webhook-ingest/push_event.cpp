#include "webhook-ingest/push_event.h"

namespace kiln::webhook {

std::string_view provider_name(Provider provider) {
  switch (provider) {
    case Provider::kGithub:
      return "github";
    case Provider::kGitlab:
      return "gitlab";
    case Provider::kGitea:
      return "gitea";
    case Provider::kBitbucket:
      return "bitbucket";
  }
  return "unknown";
}

bool is_null_sha(std::string_view sha) {
  if (sha.empty()) return false;
  for (char c : sha) {
    if (c != '0') return false;
  }
  return true;
}

std::string first_line(std::string_view text) {
  const auto end = text.find_first_of("\r\n");
  return std::string(text.substr(0, end));
}

}  // namespace kiln::webhook
