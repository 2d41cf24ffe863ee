#include "scheduler/schedule_book.h"

#include <algorithm>

namespace kiln::scheduler {

std::string schedule_id(const std::string& project, const std::string& name) {
  return project + "/" + name;
}

std::vector<Error> ScheduleBook::set_project(const project::Project& project, std::int64_t now_ms) {
  std::vector<Error> errors;
  auto shared = std::make_shared<const project::Project>(project);
  std::map<std::string, Entry> kept;
  for (const auto& spec : project.schedules) {
    const std::string id = schedule_id(project.name, spec.name);
    auto schedule = cron::Schedule::parse(spec.cron);
    if (!schedule.ok()) {
      errors.push_back(
          make_error(schedule.error().code, id + ": cron: " + schedule.error().message));
      continue;
    }
    auto zone = cron::TimeZone::load(spec.timezone.empty() ? "UTC" : spec.timezone);
    if (!zone.ok()) {
      errors.push_back(make_error(zone.error().code, id + ": timezone: " + zone.error().message));
      continue;
    }
    // New to this book: ticks since the last recorded fire are missed ticks (downtime); without
    // any recorded fire, counting starts now. Changed cron or zone: counting starts now.
    const bool fired_before = last_fire_.count(id) > 0;
    Entry entry{shared,
                spec,
                std::move(schedule.value()),
                std::move(zone.value()),
                fired_before ? 0 : now_ms,
                0};
    auto old = entries_.find(id);
    if (old != entries_.end()) {
      const bool same_timing =
          old->second.spec.cron == spec.cron && old->second.spec.timezone == spec.timezone;
      entry.since_ms = same_timing ? old->second.since_ms : now_ms;
    }
    kept.emplace(id, std::move(entry));
  }
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = it->second.project->name == project.name ? entries_.erase(it) : std::next(it);
  }
  entries_.merge(kept);
  return errors;
}

void ScheduleBook::remove_project(const std::string& name) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = it->second.project->name == name ? entries_.erase(it) : std::next(it);
  }
}

void ScheduleBook::record_fire(const std::string& id, std::int64_t fire_ms) {
  auto& last = last_fire_[id];
  if (fire_ms <= last) return;
  last = fire_ms;
  if (auto entry = entries_.find(id); entry != entries_.end()) entry->second.next_s = 0;
}

void ScheduleBook::clear_fires() {
  last_fire_.clear();
  for (auto& [id, entry] : entries_) entry.next_s = 0;
}

std::int64_t ScheduleBook::last_fire_ms(const std::string& id) const {
  auto it = last_fire_.find(id);
  return it == last_fire_.end() ? 0 : it->second;
}

std::int64_t ScheduleBook::after_seconds(const std::string& id, const Entry& entry) const {
  const std::int64_t after_ms = std::max(last_fire_ms(id), entry.since_ms);
  // Floor division: a tick at exactly `after` has been fired (or predates the schedule).
  return after_ms >= 0 ? after_ms / 1000 : -((-after_ms + 999) / 1000);
}

std::vector<Fire> ScheduleBook::due(std::int64_t now_ms, std::int64_t catch_up_grace_ms) {
  std::vector<Fire> fires;
  const std::int64_t now_s = now_ms / 1000;
  for (auto& [id, entry] : entries_) {
    const std::int64_t after = after_seconds(id, entry);
    if (entry.next_s == 0) entry.next_s = entry.schedule.next_after(after, entry.zone);
    if (entry.next_s == cron::kNever || entry.next_s > now_s) continue;
    auto last = entry.schedule.last_fire_in(after, now_s, entry.zone);
    if (!last) continue;
    Fire fire;
    fire.project = entry.project;
    fire.schedule = entry.spec;
    fire.schedule_id = id;
    fire.fire_ms = *last * 1000;
    // Late by more than the grace, or ticks skipped before it: a catch-up after downtime.
    fire.catch_up = now_ms - fire.fire_ms > catch_up_grace_ms || entry.next_s < *last;
    last_fire_[id] = fire.fire_ms;
    entry.next_s = entry.schedule.next_after(*last, entry.zone);
    fires.push_back(std::move(fire));
  }
  return fires;
}

}  // namespace kiln::scheduler
