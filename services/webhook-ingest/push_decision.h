// What a push means for a project: whether it builds (branch/tag/path filters, deletions, empty
// pushes) and, if so, the `requested` event it becomes. Pure functions, tested without servers.
#pragma once

#include <optional>
#include <string>

#include "events/envelope.h"
#include "project/project.h"
#include "webhook-ingest/push_event.h"

namespace kiln::webhook {

// Why the push starts no build, or nullopt when it builds.
std::optional<std::string> ignore_reason(const project::Project& project, const PushEvent& push);

events::v1::BuildRequested webhook_request(const project::Project& project, const PushEvent& push,
                                           Provider provider, const std::string& delivery_id,
                                           const std::string& default_registry);

}  // namespace kiln::webhook
