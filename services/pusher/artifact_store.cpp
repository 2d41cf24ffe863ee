#include "pusher/artifact_store.h"

#include <filesystem>
#include <system_error>

namespace kiln::pusher {
namespace fs = std::filesystem;

bool is_inside(const std::string& path, const std::string& root) {
  if (path.empty() || root.empty()) return false;
  std::error_code ec;
  const fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) return false;
  const fs::path r = fs::weakly_canonical(fs::absolute(root, ec), ec);
  if (ec) return false;
  auto pi = p.begin();
  for (auto ri = r.begin(); ri != r.end(); ++ri, ++pi) {
    if (ri->empty()) continue;  // a trailing slash of root
    if (pi == p.end() || *pi != *ri) return false;
  }
  // Something must follow the root's components (a trailing empty one does not count).
  for (; pi != p.end(); ++pi) {
    if (!pi->empty()) return true;
  }
  return false;
}

Status remove_layout(const std::string& path, const std::string& root) {
  if (!is_inside(path, root)) {
    return make_error(
        ErrorCode::kFailedPrecondition,
        "layout " + path + " is not inside the artifact store " + root + "; left in place");
  }
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) {
    return make_error(ErrorCode::kInternal, "removing layout " + path + ": " + ec.message());
  }
  return {};
}

}  // namespace kiln::pusher
