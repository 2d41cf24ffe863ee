#include "builder/leftovers.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

#include "common/log.h"

namespace kiln::builder {
namespace {

namespace fs = std::filesystem;

constexpr char kLockName[] = ".kiln-lock";
constexpr auto kUnlockedGrace = std::chrono::minutes(1);

bool older_than(const fs::path& path, fs::file_time_type::duration age) {
  std::error_code ec;
  const auto written = fs::last_write_time(path, ec);
  return !ec && fs::file_time_type::clock::now() - written > age;
}

// True when nobody alive holds the directory's lock (or it has none and is old).
bool abandoned(const fs::path& dir) {
  const fs::path lock = dir / kLockName;
  const int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return older_than(dir, kUnlockedGrace);
  const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return free;
}

bool remove_tree(const fs::path& path, SweepReport& report) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) {
    ++report.failures;
    log::warn("removing a leftover directory failed",
              {{"path", path.string()}, {"error", ec.message()}});
    return false;
  }
  return true;
}

}  // namespace

WorkDirLock::WorkDirLock(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  fd_ = ::open((fs::path(dir) / kLockName).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ >= 0 && ::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

WorkDirLock::~WorkDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

SweepReport sweep_leftovers(const std::string& work_dir, const std::string& artifacts_dir,
                            std::chrono::seconds export_max_age,
                            std::chrono::seconds layout_max_age) {
  SweepReport report;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(work_dir, ec)) {
    if (!entry.is_directory(ec) || !abandoned(entry.path())) continue;
    if (remove_tree(entry.path(), report)) ++report.work_dirs_removed;
  }
  for (const auto& entry : fs::directory_iterator(artifacts_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(".tmp-", 0) == 0) {
      if (older_than(entry.path(), export_max_age) && remove_tree(entry.path(), report)) {
        ++report.export_dirs_removed;
      }
    } else if (layout_max_age.count() > 0 && older_than(entry.path(), layout_max_age) &&
               remove_tree(entry.path(), report)) {
      ++report.layouts_removed;
    }
  }
  return report;
}

}  // namespace kiln::builder
