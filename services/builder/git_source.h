// Fetches a build's Git source: a shallow fetch of one commit (or of the ref's head for
// scheduled builds) into an empty work directory, checked out detached.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "builder/build_engine.h"
#include "builder/failure.h"
#include "kiln/events/v1/events.pb.h"

namespace kiln::builder {

struct GitAuth {
  std::map<std::string, std::string> credentials;  // host -> user:token (http/https)
  std::string ssh_key;                             // private key file (ssh)
  std::string repository_credential;  // user:token for this repository; wins over `credentials`
};

// The URL git is given: credentials inserted for http(s) hosts that have them. The result is a
// secret; log `repo_url` instead.
std::string authenticated_url(const std::string& repo_url, const GitAuth& auth);

// On success returns nullopt and sets `commit` to the checked-out sha. On failure: stage FETCH
// with git's own one-line message and exit code (or cancelled / timed out).
std::optional<Failure> fetch_git(const events::v1::GitSource& source, const std::string& dir,
                                 const GitAuth& auth, const LineSink& sink,
                                 const RunControl& control, std::string& commit);

}  // namespace kiln::builder
