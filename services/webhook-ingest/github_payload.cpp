// GitHub's push payload:
// https://docs.github.com/en/webhooks/webhook-events-and-payloads#push
#include "json/reader.h"
#include "webhook-ingest/commit_list.h"
#include "webhook-ingest/push_event.h"

namespace kiln::webhook {

Result<PushEvent> parse_github_push(std::string_view body) {
  return json::read_object(body, [](const json::Reader& root) {
    PushEvent event;
    event.ref = root.required_string("ref");
    event.before = root.string("before");
    event.after = root.required_string("after");
    event.deleted = root.boolean("deleted", false) || is_null_sha(event.after);

    const json::Reader repository = root.required_object("repository");
    event.repository_full_name = repository.string("full_name");
    for (const char* key : {"clone_url", "html_url", "ssh_url", "git_url", "url"}) {
      std::string url = repository.string(key);
      if (!url.empty()) event.repository_urls.push_back(std::move(url));
    }
    if (event.repository_full_name.empty() && event.repository_urls.empty()) {
      throw json::missing_field("repository.full_name");
    }

    event.actor = root.object("pusher").string("name");
    if (event.actor.empty()) event.actor = root.object("sender").string("login");

    // head_commit is set even when `commits` is empty (a tag or a new branch at an old commit).
    read_head_commit(root.object("head_commit"), event);
    read_commits(root.objects("commits"), event);
    // GitHub lists at most 2048 commits and says nothing when it cut the list short.
    event.paths_complete = event.commit_count < 2048;
    return event;
  });
}

}  // namespace kiln::webhook
