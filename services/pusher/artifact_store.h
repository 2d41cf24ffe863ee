// The pusher's side of the artifact store: a build's OCI layout is removed once the build has
// ended (pushed, failed or cancelled). `built.artifact_location` comes from a message, so it is
// checked to lie strictly inside artifacts.dir before anything is deleted.
#pragma once

#include <string>

#include "common/result.h"

namespace kiln::pusher {

// True when `path` (after resolving "..", symlinks of existing parents and relative parts) is
// strictly below `root`; `root` itself and anything beside it are not.
bool is_inside(const std::string& path, const std::string& root);

// Removes the layout directory at `path` when it is inside `root`. A path outside is left alone
// and reported as kFailedPrecondition (logged by the caller, never deleted); a path that no
// longer exists is fine (a redelivered message whose layout is already gone).
Status remove_layout(const std::string& path, const std::string& root);

}  // namespace kiln::pusher
