// The projects of bucket kiln_projects, held in memory so a webhook never waits for a KV read.
// A watcher thread applies every change; the command API writes through (put/erase) so its own
// writes are visible at once. Revisions order the two sources: an older revision never
// overwrites a newer one.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "bus/kv.h"
#include "project/project.h"

namespace kiln::webhook {

class ProjectCache {
 public:
  // Opens the bucket and loads the current projects (waiting up to `initial_timeout_ms` for
  // them), then keeps watching in a thread.
  static Result<std::unique_ptr<ProjectCache>> start(bus::Bus& bus, int initial_timeout_ms = 5000);
  ~ProjectCache();
  ProjectCache(const ProjectCache&) = delete;
  ProjectCache& operator=(const ProjectCache&) = delete;

  std::vector<project::Project> snapshot() const;
  std::optional<project::Project> get(const std::string& name) const;
  void put(const project::Project& project, std::uint64_t revision);
  void erase(const std::string& name, std::uint64_t revision);

 private:
  ProjectCache() = default;
  void apply(const bus::KvEntry& entry);
  void watch_loop();

  bus::Bus* bus_ = nullptr;
  std::unique_ptr<bus::KeyValue> kv_;
  std::unique_ptr<bus::KvWatcher> watcher_;
  mutable std::mutex mutex_;
  std::map<std::string, project::Project> projects_;
  std::map<std::string, std::uint64_t> revisions_;  // also remembers deletions
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// "https://GitHub.com/Owner/Repo.git", "git@github.com:owner/repo" and
// "ssh://git@github.com/owner/repo/" all become "github.com/owner/repo".
std::string normalize_repository(std::string_view url);

// Projects whose repository_url or repository_name is the pushed repository, by name.
std::vector<project::Project> projects_for_repository(const std::vector<project::Project>& projects,
                                                      const std::vector<std::string>& urls,
                                                      const std::string& full_name);

}  // namespace kiln::webhook
