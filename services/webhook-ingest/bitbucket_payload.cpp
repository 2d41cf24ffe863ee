// Bitbucket Cloud's repo:push payload:
// https://support.atlassian.com/bitbucket-cloud/docs/event-payloads/#Push
// One delivery carries a change per ref pushed (push.changes[]): each becomes a PushEvent. The
// payload lists no files, so a path filter never rules a Bitbucket push out.
#include <string>

#include "json/reader.h"
#include "webhook-ingest/push_event.h"

namespace kiln::webhook {
namespace {

constexpr char kNullSha[] = "0000000000000000000000000000000000000000";

// refs/heads/<name> for branches, refs/tags/<name> for tags.
std::string full_ref(const json::Reader& state) {
  const std::string type = state.required_string("type");
  const std::string name = state.required_string("name");
  if (type == "branch" || type == "named_branch") return "refs/heads/" + name;
  if (type == "tag" || type == "annotated_tag") return "refs/tags/" + name;
  throw json::invalid_field(state.path_of("type"), "must be branch or tag, not '" + type + "'");
}

// "Jane Doe <jane@example.com>" -> "Jane Doe"
std::string name_of(const json::Reader& author) {
  std::string name = author.object("user").string("display_name");
  if (!name.empty()) return name;
  const std::string raw = author.string("raw");
  return raw.substr(0, raw.find(" <"));
}

PushEvent change_event(const json::Reader& change, const PushEvent& repository) {
  PushEvent event = repository;
  const json::Reader after = change.object("new");
  const json::Reader before = change.object("old");
  if (!after.present() && !before.present()) throw json::missing_field(change.path_of("new"));
  event.ref = full_ref(after.present() ? after : before);
  event.deleted = change.boolean("closed", false) || !after.present();
  event.after = after.present() ? after.required_object("target").required_string("hash") : "";
  if (event.after.empty()) event.after = kNullSha;
  event.before = before.present() ? before.object("target").string("hash", kNullSha) : kNullSha;
  if (after.present()) {
    const json::Reader head = after.required_object("target");
    event.message = first_line(head.string("message"));
    event.author = name_of(head.object("author"));
  }
  event.commit_count = change.objects("commits").size();
  event.paths_complete = false;  // Bitbucket names no files
  return event;
}

}  // namespace

Result<std::vector<PushEvent>> parse_bitbucket_push(std::string_view body) {
  return json::read_object(body, [](const json::Reader& root) {
    PushEvent repository;
    const json::Reader repo = root.required_object("repository");
    repository.repository_full_name = repo.string("full_name");
    std::string web = repo.object("links").object("html").string("href");
    if (!web.empty()) repository.repository_urls.push_back(std::move(web));
    if (repository.repository_full_name.empty() && repository.repository_urls.empty()) {
      throw json::missing_field("repository.full_name");
    }
    const json::Reader actor = root.object("actor");
    repository.actor = actor.string("nickname");
    if (repository.actor.empty()) repository.actor = actor.string("display_name");

    const auto changes = root.required_object("push").objects("changes");
    if (changes.empty()) throw json::missing_field("push.changes");
    std::vector<PushEvent> events;
    for (const auto& change : changes) events.push_back(change_event(change, repository));
    return events;
  });
}

}  // namespace kiln::webhook
