// What a killed builder leaves behind, and how the next one removes it.
//
// Every build works in a directory of its own under work.dir (its context, its secret files), and
// holds an exclusive flock on `<dir>/.kiln-lock` for as long as it runs. The kernel drops the lock
// when the builder dies, however it dies, so on start a builder removes every work directory
// whose lock it can take: those belong to nobody alive, also when several builders on one host
// share work.dir. A directory with no lock file is removed once it is older than a minute (a
// build creates the lock right after its directory). Export directories (`.tmp-*` in
// artifacts.dir) left by an export that died are removed once older than the build timeout, and
// layouts no pusher took (an attempt that lost its fence, a builder killed before `built`) once
// older than artifacts.max-age-hours. The builder sweeps when it starts and every ten minutes.
//
// Errors: nothing here fails a start; what cannot be removed is logged and counted.
#pragma once

#include <chrono>
#include <string>

namespace kiln::builder {

// Holds the lock of a build's work directory (created here) while it lives.
class WorkDirLock {
 public:
  explicit WorkDirLock(const std::string& dir);
  ~WorkDirLock();
  WorkDirLock(const WorkDirLock&) = delete;
  WorkDirLock& operator=(const WorkDirLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct SweepReport {
  int work_dirs_removed = 0;
  int export_dirs_removed = 0;
  int layouts_removed = 0;
  int failures = 0;
};

// `layout_max_age` 0: layouts are left alone.
SweepReport sweep_leftovers(const std::string& work_dir, const std::string& artifacts_dir,
                            std::chrono::seconds export_max_age,
                            std::chrono::seconds layout_max_age);

}  // namespace kiln::builder
