// A cancel request for one running job, set from another thread (the cancel watcher, shutdown)
// and polled by the job and the processes or transfers it runs.
#pragma once

#include <atomic>

namespace kiln::worker {

class CancelFlag {
 public:
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

 private:
  std::atomic<bool> cancelled_{false};
};

}  // namespace kiln::worker
