#include "scheduler/schedule_request.h"

#include "common/ids.h"
#include "events/envelope.h"
#include "events/subjects.h"

namespace kiln::scheduler {

std::string scheduled_build_id(const std::string& schedule_id, std::int64_t fire_ms) {
  return stable_id("schedule:" + schedule_id + ":" + std::to_string(fire_ms));
}

ScheduledRequest make_scheduled_request(const Fire& fire, const std::string& default_registry,
                                        std::string_view producer, std::int64_t now_ms) {
  const project::Project& project = *fire.project;
  const std::string branch =
      fire.schedule.branch.empty() ? project.default_branch : fire.schedule.branch;
  const std::string ref = "refs/heads/" + branch;

  ScheduledRequest out;
  out.envelope = events::new_envelope(scheduled_build_id(fire.schedule_id, fire.fire_ms), producer);
  out.envelope.set_occurred_at_ms(now_ms);
  auto* requested = out.envelope.mutable_requested();
  requested->set_project(project.name);
  requested->set_tenant(project.tenant);
  auto* trigger = requested->mutable_trigger();
  trigger->set_kind(v1::Trigger::SCHEDULE);
  trigger->set_schedule_id(fire.schedule_id);
  trigger->set_fire_time_ms(fire.fire_ms);
  trigger->set_catch_up(fire.catch_up);
  trigger->set_actor("scheduler");
  auto* git = requested->mutable_git();
  git->set_repo_url(project.repository_url);
  git->set_ref(ref);
  git->set_default_branch(branch == project.default_branch);
  // commit stays empty: the builder resolves the branch when it fetches.
  *requested->mutable_spec() = project::build_spec(project, default_registry);
  for (const auto& tag : project::tags_for(project, ref, "")) {
    requested->mutable_spec()->add_tags(tag);
  }
  requested->set_project_concurrency(project.concurrency);
  requested->set_max_queue_seconds(project.max_queue_seconds);

  auto encoded = events::encode(out.envelope);
  out.subject = std::move(encoded.subject);
  out.data = std::move(encoded.data);
  out.msg_id = events::schedule_msg_id(fire.schedule_id, fire.fire_ms);
  return out;
}

}  // namespace kiln::scheduler
