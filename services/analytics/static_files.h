// Serves the dashboard's built files (option web.root) at `/`, when that directory exists.
#pragma once

#include <string>

#include "http/server.h"

namespace kiln::analytics {

// Registers GET routes for `/` and paths up to four segments deep below `root`. Returns false
// (and registers nothing) when `root` is not a directory.
bool serve_static_files(http::Server& server, const std::string& root);

// The content type for a file name by its extension.
std::string content_type_for(const std::string& path);

}  // namespace kiln::analytics
