// POST /hooks/github, /hooks/gitlab, /hooks/gitea: authenticate the raw body against the
// projects' webhook secrets, parse the push, pick the project, apply its filters and publish
// `requested`, answering only after the JetStream ack.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "http/server.h"
#include "webhook-ingest/event_publisher.h"
#include "webhook-ingest/ingest_options.h"
#include "webhook-ingest/project_cache.h"
#include "webhook-ingest/push_event.h"

namespace kiln::webhook {

class WebhookRoutes {
 public:
  WebhookRoutes(ProjectCache& projects, EventPublisher& publisher, http::Metrics& metrics,
                const IngestOptions& options)
      : projects_(projects), publisher_(publisher), metrics_(metrics), options_(options) {}

  void add_to(http::Server& server);
  http::Response handle(Provider provider, http::Request& request);

 private:
  http::Response process(Provider provider, http::Request& request, std::string& outcome);
  // Projects whose secret authenticates the request; throws 401 when there is none.
  std::vector<project::Project> authenticated(Provider provider, const http::Request& request,
                                              const std::vector<project::Project>& projects);
  void record(Provider provider, const std::string& outcome,
              std::chrono::steady_clock::time_point started);

  ProjectCache& projects_;
  EventPublisher& publisher_;
  http::Metrics& metrics_;
  const IngestOptions& options_;
};

}  // namespace kiln::webhook
