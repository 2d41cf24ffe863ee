// The network a build's RUN steps get when its spec asks for one (`network: true`): outbound
// access through slirp4netns in a network namespace of the build's own, and nothing of the host.
// slirp4netns runs with --disable-host-loopback (the host's 127.0.0.1, where NATS, PostgreSQL and
// kiln's own ports listen on one machine), and every address of the host itself, plus the
// networks in `build.network-blocked`, is a blackhole route inside the namespace. Without
// `network: true` a build gets `unshare --net`: a loopback that is down and nothing else.
//
// Errors: Result (the namespace or slirp4netns could not be set up; the build fails with it).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace kiln::builder {

// Guest side of slirp4netns: its DNS forwarder, handed to buildah as --dns.
inline constexpr char kBuildNetworkDns[] = "10.0.2.3";

class BuildNetwork {
 public:
  // Adds network namespace `kiln-<pid>-<n>`, starts slirp4netns for it and routes the host's
  // addresses and `blocked` (CIDRs) into a blackhole.
  static Result<std::unique_ptr<BuildNetwork>> create(const std::vector<std::string>& blocked);
  // Stops slirp4netns and deletes the namespace.
  ~BuildNetwork();
  BuildNetwork(const BuildNetwork&) = delete;
  BuildNetwork& operator=(const BuildNetwork&) = delete;

  const std::string& path() const { return path_; }  // /run/netns/<name>, for nsenter --net=

 private:
  BuildNetwork(std::string name) : name_(std::move(name)), path_("/run/netns/" + name_) {}
  std::string name_;
  std::string path_;
  pid_t slirp_ = -1;
};

// Deletes the kiln-<pid>-* namespaces whose builder process is gone (a builder killed with -9).
void remove_stale_build_networks();

}  // namespace kiln::builder
