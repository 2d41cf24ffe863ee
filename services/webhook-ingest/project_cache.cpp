#include "webhook-ingest/project_cache.h"

#include <algorithm>
#include <chrono>

#include "bus/topology.h"
#include "common/log.h"
#include "common/strings.h"

namespace kiln::webhook {

std::string normalize_repository(std::string_view url) {
  std::string s = to_lower(url);
  for (std::string_view scheme : {"https://", "http://", "ssh://", "git://", "file://"}) {
    if (s.rfind(scheme, 0) == 0) {
      s.erase(0, scheme.size());
      break;
    }
  }
  const auto at = s.find('@');
  if (at != std::string::npos && at < s.find('/')) s.erase(0, at + 1);
  // scp-like form host:owner/repo (but not host:port/owner/repo).
  const auto colon = s.find(':');
  if (colon != std::string::npos && colon < s.find('/')) {
    const auto slash = s.find('/', colon);
    const std::string port =
        s.substr(colon + 1, slash == std::string::npos ? std::string::npos : slash - colon - 1);
    const bool numeric = !port.empty() && std::all_of(port.begin(), port.end(), ::isdigit);
    if (!numeric) s[colon] = '/';
  }
  while (!s.empty() && s.back() == '/') s.pop_back();
  if (s.size() > 4 && s.compare(s.size() - 4, 4, ".git") == 0) s.resize(s.size() - 4);
  return s;
}

std::vector<project::Project> projects_for_repository(const std::vector<project::Project>& projects,
                                                      const std::vector<std::string>& urls,
                                                      const std::string& full_name) {
  std::vector<std::string> wanted;
  for (const auto& url : urls) wanted.push_back(normalize_repository(url));
  const std::string name = to_lower(full_name);
  std::vector<project::Project> out;
  for (const auto& p : projects) {
    const bool by_name =
        !name.empty() && !p.repository_name.empty() && to_lower(p.repository_name) == name;
    const std::string own = normalize_repository(p.repository_url);
    const bool by_url = std::find(wanted.begin(), wanted.end(), own) != wanted.end();
    if (by_name || by_url) out.push_back(p);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

Result<std::unique_ptr<ProjectCache>> ProjectCache::start(bus::Bus& bus, int initial_timeout_ms) {
  auto cache = std::unique_ptr<ProjectCache>(new ProjectCache());
  cache->bus_ = &bus;
  auto kv = bus::KeyValue::open(bus, bus::kProjectsBucket, {});
  if (!kv.ok()) return kv.error();
  cache->kv_ = std::move(kv.value());
  auto watcher = cache->kv_->watch_all();
  if (!watcher.ok()) return watcher.error();
  cache->watcher_ = std::move(watcher.value());
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(initial_timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    auto entry = cache->watcher_->next(200);
    if (!entry.ok()) return entry.error();
    if (!entry.value()) continue;
    if (entry.value()->key.empty()) break;  // initial values done
    cache->apply(*entry.value());
  }
  cache->thread_ = std::thread([c = cache.get()] { c->watch_loop(); });
  return cache;
}

ProjectCache::~ProjectCache() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ProjectCache::watch_loop() {
  while (!stop_) {
    if (!watcher_) {
      auto watcher = kv_->watch_all();
      if (!watcher.ok()) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      watcher_ = std::move(watcher.value());
      log::info("project watch resumed");
    }
    auto entry = watcher_->next(250);
    if (!entry.ok()) {
      // The watch ends when NATS goes away; open a new one once it is back (it replays the
      // current values, and revisions keep replays harmless).
      log::warn("project watch failed; retrying", {{"error", entry.error().describe()}});
      watcher_.reset();
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    if (entry.value() && !entry.value()->key.empty()) apply(*entry.value());
  }
}

void ProjectCache::apply(const bus::KvEntry& entry) {
  if (entry.deleted) {
    erase(entry.key, entry.revision);
    return;
  }
  auto parsed = project::parse_project(entry.value);
  if (!parsed.ok()) {
    log::error("ignoring invalid project in bucket",
               {{"project", entry.key}, {"error", parsed.error().describe()}});
    return;
  }
  put(*parsed, entry.revision);
}

std::vector<project::Project> ProjectCache::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<project::Project> out;
  out.reserve(projects_.size());
  for (const auto& [name, p] : projects_) out.push_back(p);
  return out;
}

std::optional<project::Project> ProjectCache::get(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = projects_.find(name);
  if (it == projects_.end()) return std::nullopt;
  return it->second;
}

void ProjectCache::put(const project::Project& project, std::uint64_t revision) {
  std::lock_guard lock(mutex_);
  auto& known = revisions_[project.name];
  if (revision < known) return;
  known = revision;
  projects_[project.name] = project;
}

void ProjectCache::erase(const std::string& name, std::uint64_t revision) {
  std::lock_guard lock(mutex_);
  auto& known = revisions_[name];
  if (revision < known) return;
  known = revision;
  projects_.erase(name);
}

}  // namespace kiln::webhook
