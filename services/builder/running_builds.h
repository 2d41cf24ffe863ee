// The builds this replica is running, each with its cancel flag: the worker registers a build,
// the cancel watcher and shutdown set the flags.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "builder/process.h"

namespace kiln::builder {

class RunningBuilds {
 public:
  std::shared_ptr<CancelFlag> add(const std::string& build_id);
  void remove(const std::string& build_id, const std::shared_ptr<CancelFlag>& flag);
  // True when the build runs here (its flag is now set).
  bool cancel(const std::string& build_id);
  void cancel_all();
  int size() const;

 private:
  mutable std::mutex mutex_;
  std::multimap<std::string, std::shared_ptr<CancelFlag>> flags_;
};

}  // namespace kiln::builder
