// GitLab's "Push Hook" and "Tag Push Hook" payloads:
// https://docs.gitlab.com/ee/user/project/integrations/webhook_events.html#push-events
#include "json/reader.h"
#include "webhook-ingest/commit_list.h"
#include "webhook-ingest/push_event.h"

namespace kiln::webhook {

Result<PushEvent> parse_gitlab_push(std::string_view body) {
  return json::read_object(body, [](const json::Reader& root) {
    PushEvent event;
    event.ref = root.required_string("ref");
    event.before = root.string("before");
    event.after = root.required_string("after");
    event.deleted = is_null_sha(event.after);

    const json::Reader project = root.object("project");
    const json::Reader repository = root.object("repository");
    if (!project.present() && !repository.present()) throw json::missing_field("project");
    event.repository_full_name = project.string("path_with_namespace");
    for (const auto& [node, key] :
         {std::pair{&project, "git_http_url"}, std::pair{&project, "git_ssh_url"},
          std::pair{&project, "web_url"}, std::pair{&repository, "git_http_url"},
          std::pair{&repository, "git_ssh_url"}, std::pair{&repository, "homepage"}}) {
      std::string url = node->string(key);
      if (!url.empty()) event.repository_urls.push_back(std::move(url));
    }
    if (event.repository_full_name.empty() && event.repository_urls.empty()) {
      throw json::missing_field("project.path_with_namespace");
    }

    event.actor = root.string("user_username");
    if (event.actor.empty()) event.actor = root.string("user_name");

    read_commits(root.objects("commits"), event);
    // GitLab lists at most 20 commits; total_commits_count is the real number.
    const long long total = root.integer("total_commits_count", -1);
    if (total >= 0) {
      if (total > static_cast<long long>(event.commit_count)) event.paths_complete = false;
      event.commit_count = static_cast<std::size_t>(total);
    }
    return event;
  });
}

}  // namespace kiln::webhook
