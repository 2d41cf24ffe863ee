// Which cron ticks are due: the schedules of every project in kiln_projects, and the last tick
// fired per schedule as the event log tells it (a schedule-triggered `requested` carries its
// schedule id and fire time). Pure: no I/O, the caller passes the time.
//
// Rules:
//   * A schedule fires each tick once. When several ticks were missed (no scheduler ran), only the
//     latest one fires, flagged catch_up; a single tick found later than `grace` is also catch_up.
//   * A schedule never seen fired, and a schedule whose cron or time zone changed, start counting
//     from the moment this book learnt of it: ticks before that are not "missed".
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "cron/cron.h"
#include "cron/time_zone.h"
#include "project/project.h"

namespace kiln::scheduler {

struct Fire {
  std::shared_ptr<const project::Project> project;
  project::ScheduleSpec schedule;
  std::string schedule_id;   // <project>/<name>
  std::int64_t fire_ms = 0;  // the tick (Unix ms)
  bool catch_up = false;
};

class ScheduleBook {
 public:
  // Replaces the schedules of `project`. Returns one error per schedule that cannot run (bad cron
  // or time zone); the others are taken.
  std::vector<Error> set_project(const project::Project& project, std::int64_t now_ms);
  void remove_project(const std::string& name);

  // A scheduled build seen in the log (or just published): its tick is done.
  void record_fire(const std::string& schedule_id, std::int64_t fire_ms);
  // Forgets every recorded fire (the log is about to be read again from the start).
  void clear_fires();

  // The ticks due at `now_ms`, at most one per schedule, each recorded as fired.
  std::vector<Fire> due(std::int64_t now_ms, std::int64_t catch_up_grace_ms);

  std::size_t size() const { return entries_.size(); }
  std::int64_t last_fire_ms(const std::string& schedule_id) const;

 private:
  struct Entry {
    std::shared_ptr<const project::Project> project;
    project::ScheduleSpec spec;
    cron::Schedule schedule;
    cron::TimeZone zone;
    std::int64_t since_ms = 0;
    std::int64_t next_s = 0;  // cached next tick after max(last fire, since); 0: recompute
  };
  std::int64_t after_seconds(const std::string& id, const Entry& entry) const;

  std::map<std::string, Entry> entries_;           // by schedule id
  std::map<std::string, std::int64_t> last_fire_;  // schedule id -> tick (ms)
};

std::string schedule_id(const std::string& project, const std::string& name);

}  // namespace kiln::scheduler
