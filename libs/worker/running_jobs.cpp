#include "worker/running_jobs.h"

#include <utility>

#include "common/ids.h"

namespace kiln::worker {

std::shared_ptr<CancelFlag> RunningJobs::add(const std::string& build_id, std::int32_t attempt,
                                             bool* first) {
  auto flag = std::make_shared<CancelFlag>();
  std::lock_guard lock(mutex_);
  if (first != nullptr) *first = jobs_.count(build_id) == 0;
  jobs_.emplace(build_id, Job{flag, attempt, kiln::now_ms()});
  return flag;
}

void RunningJobs::remove(const std::string& build_id, const std::shared_ptr<CancelFlag>& flag) {
  std::lock_guard lock(mutex_);
  auto [begin, end] = jobs_.equal_range(build_id);
  for (auto it = begin; it != end; ++it) {
    if (it->second.flag == flag) {
      jobs_.erase(it);
      return;
    }
  }
}

bool RunningJobs::cancel(const std::string& build_id) {
  std::lock_guard lock(mutex_);
  auto [begin, end] = jobs_.equal_range(build_id);
  bool found = false;
  for (auto it = begin; it != end; ++it) {
    it->second.flag->cancel();
    found = true;
  }
  return found;
}

void RunningJobs::cancel_all() {
  std::lock_guard lock(mutex_);
  for (auto& [id, job] : jobs_) job.flag->cancel();
}

int RunningJobs::size() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(jobs_.size());
}

std::vector<RunningAttempt> RunningJobs::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<RunningAttempt> out;
  out.reserve(jobs_.size());
  for (const auto& [id, job] : jobs_) out.push_back({id, job.attempt, job.since_ms});
  return out;
}

JobRegistration::JobRegistration(RunningJobs& running, std::string build_id, std::int32_t attempt,
                                 std::function<void(int)> on_change)
    : running_(running),
      build_id_(std::move(build_id)),
      on_change_(std::move(on_change)),
      attempt_(attempt),
      flag_(running_.add(build_id_, attempt_, &first_)) {
  if (on_change_) on_change_(running_.size());
}

JobRegistration::~JobRegistration() {
  running_.remove(build_id_, flag_);
  if (on_change_) on_change_(running_.size());
}

}  // namespace kiln::worker
