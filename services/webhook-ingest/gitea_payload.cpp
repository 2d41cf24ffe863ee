// Gitea's and Forgejo's push payload (GitHub's shape, plus total_commits and pusher.login):
// https://docs.gitea.com/usage/webhooks
#include "json/reader.h"
#include "webhook-ingest/commit_list.h"
#include "webhook-ingest/push_event.h"

namespace kiln::webhook {

Result<PushEvent> parse_gitea_push(std::string_view body) {
  return json::read_object(body, [](const json::Reader& root) {
    PushEvent event;
    event.ref = root.required_string("ref");
    event.before = root.string("before");
    event.after = root.required_string("after");
    event.deleted = is_null_sha(event.after);

    const json::Reader repository = root.required_object("repository");
    event.repository_full_name = repository.string("full_name");
    for (const char* key : {"clone_url", "html_url", "ssh_url"}) {
      std::string url = repository.string(key);
      if (!url.empty()) event.repository_urls.push_back(std::move(url));
    }
    if (event.repository_full_name.empty() && event.repository_urls.empty()) {
      throw json::missing_field("repository.full_name");
    }

    const json::Reader pusher = root.object("pusher");
    event.actor = pusher.string("login");
    if (event.actor.empty()) event.actor = pusher.string("username");
    if (event.actor.empty()) event.actor = root.object("sender").string("login");

    read_head_commit(root.object("head_commit"), event);
    read_commits(root.objects("commits"), event);
    // Gitea sends at most a configured number of commits and the real count beside them.
    const long long total = root.integer("total_commits", -1);
    if (total > static_cast<long long>(event.commit_count)) {
      event.commit_count = static_cast<std::size_t>(total);
      event.paths_complete = false;
    }
    return event;
  });
}

}  // namespace kiln::webhook
