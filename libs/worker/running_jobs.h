// The jobs (builds, pushes) a replica is running, each with its cancel flag: a worker registers a
// job while it runs it, the cancel watcher and shutdown set the flags. Thread-safe; nothing here
// fails, so nothing returns a Result.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "worker/cancel_flag.h"

namespace kiln::worker {

// One running job as a heartbeat lists it.
struct RunningAttempt {
  std::string build_id;
  std::int32_t attempt = 0;
  std::int64_t since_ms = 0;
};

class RunningJobs {
 public:
  // Registers a job under its build id; the same id may be registered more than once (a
  // redelivered message handled while a first copy still runs), each with its own flag.
  // `first`, when given, tells whether no other job of that id was registered at that moment.
  std::shared_ptr<CancelFlag> add(const std::string& build_id, std::int32_t attempt,
                                  bool* first = nullptr);
  // Removes the registration that returned `flag`; the others of the same id stay.
  void remove(const std::string& build_id, const std::shared_ptr<CancelFlag>& flag);
  // True when the build runs here (its flags are now set).
  bool cancel(const std::string& build_id);
  void cancel_all();
  int size() const;
  // What runs now, for the worker's heartbeat (one entry per registration).
  std::vector<RunningAttempt> snapshot() const;

 private:
  struct Job {
    std::shared_ptr<CancelFlag> flag;
    std::int32_t attempt = 0;
    std::int64_t since_ms = 0;
  };
  mutable std::mutex mutex_;
  std::multimap<std::string, Job> jobs_;
};

// Registers a job for the lifetime of this object. `on_change` gets the number of running jobs
// after the job is added and again after it is removed (a busy-slots gauge, say).
class JobRegistration {
 public:
  JobRegistration(RunningJobs& running, std::string build_id, std::int32_t attempt,
                  std::function<void(int running)> on_change = {});
  ~JobRegistration();
  JobRegistration(const JobRegistration&) = delete;
  JobRegistration& operator=(const JobRegistration&) = delete;

  const CancelFlag& flag() const { return *flag_; }
  // False when another job of the same build already ran here when this one registered: a
  // duplicate delivery that should wait for the first to finish rather than race it.
  bool first() const { return first_; }

 private:
  RunningJobs& running_;
  std::string build_id_;
  std::function<void(int)> on_change_;
  std::int32_t attempt_;
  bool first_ = true;
  std::shared_ptr<CancelFlag> flag_;
};

}  // namespace kiln::worker
