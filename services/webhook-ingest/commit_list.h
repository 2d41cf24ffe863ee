// The commit list every host sends in a push payload (GitHub, GitLab and Gitea share its shape:
// id, message, author{name}, added/modified/removed).
#pragma once

#include <string>
#include <vector>

#include "json/reader.h"
#include "webhook-ingest/push_event.h"

namespace kiln::webhook {

// Fills commit_count, changed_paths, author and message from `commits`; the head commit is the one
// whose id is event.after (hosts list oldest first), else the last one.
void read_commits(const std::vector<json::Reader>& commits, PushEvent& event);

// Reads one commit object's author name and first message line into `event`.
void read_head_commit(const json::Reader& commit, PushEvent& event);

}  // namespace kiln::webhook
