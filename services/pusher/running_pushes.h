// The pushes this replica is running, each with its cancel flag (handed to push_layout through
// registry::cancel_when): the worker registers a push, the cancel watcher and shutdown set flags.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace kiln::pusher {

using CancelFlag = std::atomic<bool>;

class RunningPushes {
 public:
  std::shared_ptr<CancelFlag> add(const std::string& build_id);
  void remove(const std::string& build_id, const std::shared_ptr<CancelFlag>& flag);
  // True when the build is pushed here (its flags are now set).
  bool cancel(const std::string& build_id);
  void cancel_all();
  int size() const;

 private:
  mutable std::mutex mutex_;
  std::multimap<std::string, std::shared_ptr<CancelFlag>> flags_;
};

}  // namespace kiln::pusher
