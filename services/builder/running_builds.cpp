#include "builder/running_builds.h"

namespace kiln::builder {

std::shared_ptr<CancelFlag> RunningBuilds::add(const std::string& build_id) {
  auto flag = std::make_shared<CancelFlag>();
  std::lock_guard lock(mutex_);
  flags_.emplace(build_id, flag);
  return flag;
}

void RunningBuilds::remove(const std::string& build_id, const std::shared_ptr<CancelFlag>& flag) {
  std::lock_guard lock(mutex_);
  auto [begin, end] = flags_.equal_range(build_id);
  for (auto it = begin; it != end; ++it) {
    if (it->second == flag) {
      flags_.erase(it);
      return;
    }
  }
}

bool RunningBuilds::cancel(const std::string& build_id) {
  std::lock_guard lock(mutex_);
  auto [begin, end] = flags_.equal_range(build_id);
  bool found = false;
  for (auto it = begin; it != end; ++it) {
    it->second->cancel();
    found = true;
  }
  return found;
}

void RunningBuilds::cancel_all() {
  std::lock_guard lock(mutex_);
  for (auto& [id, flag] : flags_) flag->cancel();
}

int RunningBuilds::size() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(flags_.size());
}

}  // namespace kiln::builder
