// --secret id=NAME,src=FILE | id=NAME,env=VAR (as `docker buildx build --secret` takes it): the
// values go in the build request's "secrets" object, base64, never in the context or the build
// arguments; the server keeps them sealed until the build ends (libs/secrets/build_secrets.h).
#pragma once

#include <Poco/JSON/Object.h>

#include <string>
#include <vector>

namespace kiln::cli {

// The "secrets" object for the items of every --secret; a usage error (CliError, exit 2) names
// the item that is malformed or whose file or variable cannot be read.
Poco::JSON::Object::Ptr secrets_from_options(const std::vector<std::string>& items);

}  // namespace kiln::cli
