#include "pusher/running_pushes.h"

namespace kiln::pusher {

std::shared_ptr<CancelFlag> RunningPushes::add(const std::string& build_id) {
  auto flag = std::make_shared<CancelFlag>(false);
  std::lock_guard lock(mutex_);
  flags_.emplace(build_id, flag);
  return flag;
}

void RunningPushes::remove(const std::string& build_id, const std::shared_ptr<CancelFlag>& flag) {
  std::lock_guard lock(mutex_);
  auto [begin, end] = flags_.equal_range(build_id);
  for (auto it = begin; it != end; ++it) {
    if (it->second == flag) {
      flags_.erase(it);
      return;
    }
  }
}

bool RunningPushes::cancel(const std::string& build_id) {
  std::lock_guard lock(mutex_);
  auto [begin, end] = flags_.equal_range(build_id);
  bool found = false;
  for (auto it = begin; it != end; ++it) {
    it->second->store(true);
    found = true;
  }
  return found;
}

void RunningPushes::cancel_all() {
  std::lock_guard lock(mutex_);
  for (auto& [id, flag] : flags_) flag->store(true);
}

int RunningPushes::size() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(flags_.size());
}

}  // namespace kiln::pusher
