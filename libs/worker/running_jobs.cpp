#include "worker/running_jobs.h"

#include <utility>

namespace kiln::worker {

std::shared_ptr<CancelFlag> RunningJobs::add(const std::string& build_id, bool* first) {
  auto flag = std::make_shared<CancelFlag>();
  std::lock_guard lock(mutex_);
  if (first != nullptr) *first = flags_.count(build_id) == 0;
  flags_.emplace(build_id, flag);
  return flag;
}

void RunningJobs::remove(const std::string& build_id, const std::shared_ptr<CancelFlag>& flag) {
  std::lock_guard lock(mutex_);
  auto [begin, end] = flags_.equal_range(build_id);
  for (auto it = begin; it != end; ++it) {
    if (it->second == flag) {
      flags_.erase(it);
      return;
    }
  }
}

bool RunningJobs::cancel(const std::string& build_id) {
  std::lock_guard lock(mutex_);
  auto [begin, end] = flags_.equal_range(build_id);
  bool found = false;
  for (auto it = begin; it != end; ++it) {
    it->second->cancel();
    found = true;
  }
  return found;
}

void RunningJobs::cancel_all() {
  std::lock_guard lock(mutex_);
  for (auto& [id, flag] : flags_) flag->cancel();
}

int RunningJobs::size() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(flags_.size());
}

JobRegistration::JobRegistration(RunningJobs& running, std::string build_id,
                                 std::function<void(int)> on_change)
    : running_(running),
      build_id_(std::move(build_id)),
      on_change_(std::move(on_change)),
      flag_(running_.add(build_id_, &first_)) {
  if (on_change_) on_change_(running_.size());
}

JobRegistration::~JobRegistration() {
  running_.remove(build_id_, flag_);
  if (on_change_) on_change_(running_.size());
}

}  // namespace kiln::worker
