#include "webhook-ingest/commit_list.h"

#include <set>

namespace kiln::webhook {

void read_head_commit(const json::Reader& commit, PushEvent& event) {
  if (!commit.present()) return;
  event.message = first_line(commit.string("message"));
  const json::Reader author = commit.object("author");
  event.author = author.string("name");
  if (event.author.empty()) event.author = author.string("username");
}

void read_commits(const std::vector<json::Reader>& commits, PushEvent& event) {
  event.commit_count = commits.size();
  std::set<std::string> seen;
  const json::Reader* head = nullptr;
  for (const auto& commit : commits) {
    const std::string id = commit.string("id");
    if (!id.empty() && id == event.after) head = &commit;
    for (const char* list : {"added", "modified", "removed"}) {
      for (auto& path : commit.strings(list)) {
        if (seen.insert(path).second) event.changed_paths.push_back(std::move(path));
      }
    }
  }
  if (head == nullptr && !commits.empty()) head = &commits.back();
  if (head != nullptr && event.message.empty()) read_head_commit(*head, event);
}

}  // namespace kiln::webhook
