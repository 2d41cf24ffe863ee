#include "analytics/static_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace kiln::analytics {

std::string content_type_for(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

bool serve_static_files(http::Server& server, const std::string& root_option) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root_option, ec)) return false;
  const auto root = std::filesystem::canonical(root_option);
  auto handler = [root](http::Request& request) {
    std::string relative = request.path == "/" ? "index.html" : request.path.substr(1);
    std::error_code error;
    auto file = std::filesystem::weakly_canonical(root / relative, error);
    // Inside the root only: `..` and symlinks out of it are not found.
    const auto [r, f] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
    if (error || r != root.end() || !std::filesystem::is_regular_file(file, error)) {
      throw http::HttpError(404, "not_found", "no route for GET " + request.path);
    }
    std::ifstream in(file, std::ios::binary);
    std::stringstream body;
    body << in.rdbuf();
    auto response = http::text_response(200, body.str(), content_type_for(file.string()));
    response.headers.emplace_back("Cache-Control", "no-cache");
    return response;
  };
  server.route("GET", "/", handler);
  for (const char* pattern : {"/{a}", "/{a}/{b}", "/{a}/{b}/{c}", "/{a}/{b}/{c}/{d}"}) {
    server.route("GET", pattern, handler);
  }
  return true;
}

}  // namespace kiln::analytics
