// Where a build's image goes, from its `requested` spec: registry host, repository and tags,
// and the image URLs the `pushed` and `succeeded` events carry.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "kiln/events/v1/events.pb.h"

namespace kiln::pusher {

// A build spec without tags is pushed as "latest".
inline constexpr char kDefaultTag[] = "latest";

struct PushTarget {
  std::string host;               // "registry.example.com", "127.0.0.1:5000"
  std::string repository;         // "team/app"
  std::vector<std::string> tags;  // never empty, no duplicates

  std::string repository_url() const { return host + "/" + repository; }  // host/repo
  std::string tag_url(const std::string& tag) const;                      // host/repo:tag
  std::string digest_url(const std::string& digest) const;                // host/repo@digest
};

// kInvalidArgument naming the spec field when the registry, repository or a tag is missing or
// not a valid name: such a build can never be pushed, so it fails without a retry.
Result<PushTarget> push_target(const events::v1::BuildSpec& spec);

}  // namespace kiln::pusher
