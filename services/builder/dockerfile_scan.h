// A light reading of a Dockerfile, done before buildah runs: which base images to pull (the
// build itself runs without network and with --pull-never) and how many steps to expect.
// buildah remains the judge of syntax; this never rejects a Dockerfile.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::builder {

struct DockerfileScan {
  std::vector<std::string> base_images;  // registry images named by FROM, in order, no duplicates
  int instructions = 0;                  // up to and including the target stage
};

DockerfileScan scan_dockerfile(std::string_view text,
                               const std::map<std::string, std::string>& build_args,
                               std::string_view target);

}  // namespace kiln::builder
