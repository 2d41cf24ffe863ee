// The provider-neutral view of a Git host's push webhook. One parser per provider turns its
// payload into a PushEvent; everything after that (project lookup, filters, the `requested`
// event) is the same for every host.
//
// Parsers return kInvalidArgument with peer_code "malformed_json" (answered 400) or
// "missing_field" / "invalid_field" (answered 422, the message starts with the field's path).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kiln::webhook {

enum class Provider { kGithub, kGitlab, kGitea, kBitbucket };

std::string_view provider_name(Provider provider);

struct PushEvent {
  std::string ref;     // full ref: refs/heads/main, refs/tags/v1.2.3
  std::string before;  // all zeros for a created ref
  std::string after;   // all zeros for a deleted ref
  bool deleted = false;
  // Every URL the host gives for the repository (clone, web, ssh), for matching projects.
  std::vector<std::string> repository_urls;
  std::string repository_full_name;  // owner/name
  std::string actor;                 // who pushed
  std::string author;                // author of the head commit
  std::string message;               // first line of the head commit's message
  std::size_t commit_count = 0;
  std::vector<std::string> changed_paths;  // added, modified and removed, over all commits
  // False when the host truncated the commit list, so a path filter cannot rule a push out.
  bool paths_complete = true;
};

Result<PushEvent> parse_github_push(std::string_view body);
Result<PushEvent> parse_gitlab_push(std::string_view body);
Result<PushEvent> parse_gitea_push(std::string_view body);
// Bitbucket Cloud: one event per ref the push changed (push.changes[], never empty).
Result<std::vector<PushEvent>> parse_bitbucket_push(std::string_view body);

// True for a sha of only zeros (how hosts spell "no commit": created or deleted refs).
bool is_null_sha(std::string_view sha);
std::string first_line(std::string_view text);

}  // namespace kiln::webhook
