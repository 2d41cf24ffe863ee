#include "webhook-ingest/push_decision.h"

namespace kiln::webhook {

std::optional<std::string> ignore_reason(const project::Project& project, const PushEvent& push) {
  const std::string name = project::short_ref(push.ref);
  const bool tag = project::is_tag_ref(push.ref);
  if (!tag && push.ref.rfind("refs/heads/", 0) != 0) {
    return "ref " + push.ref + " is neither a branch nor a tag";
  }
  if (push.deleted) return std::string(tag ? "tag " : "branch ") + name + " was deleted";
  if (tag) {
    if (!project::matches_any(project.tag_filters, name)) {
      return "tag " + name + " matches none of the project's tag filters";
    }
    // A tag names a commit that already exists: neither the commit count nor paths apply.
    return std::nullopt;
  }
  if (!project::matches_any(project.branch_filters, name)) {
    return "branch " + name + " matches none of the project's branch filters";
  }
  if (push.commit_count == 0) return "push to " + name + " has no commits";
  if (!project.path_filters.empty() && push.paths_complete) {
    bool any = false;
    for (const auto& path : push.changed_paths) {
      if (project::matches_any(project.path_filters, path)) {
        any = true;
        break;
      }
    }
    if (!any) return "no changed file matches the project's path filters";
  }
  return std::nullopt;
}

events::v1::BuildRequested webhook_request(const project::Project& project, const PushEvent& push,
                                           Provider provider, const std::string& delivery_id,
                                           const std::string& default_registry) {
  events::v1::BuildRequested request;
  request.set_project(project.name);
  request.set_tenant(project.tenant);
  auto* trigger = request.mutable_trigger();
  trigger->set_kind(events::v1::Trigger::WEBHOOK);
  trigger->set_provider(std::string(provider_name(provider)));
  trigger->set_delivery_id(delivery_id);
  trigger->set_actor(push.actor);
  auto* git = request.mutable_git();
  git->set_repo_url(project.repository_url);
  git->set_ref(push.ref);
  git->set_commit(push.after);
  git->set_author(push.author);
  git->set_message(push.message);
  git->set_default_branch(!project::is_tag_ref(push.ref) &&
                          project::short_ref(push.ref) == project.default_branch);
  *request.mutable_spec() = project::build_spec(project, default_registry);
  for (const auto& tag : project::tags_for(project, push.ref, push.after)) {
    request.mutable_spec()->add_tags(tag);
  }
  request.set_project_concurrency(project.concurrency);
  request.set_max_queue_seconds(project.max_queue_seconds);
  return request;
}

}  // namespace kiln::webhook
