// POST /hooks/github, /hooks/gitlab, /hooks/gitea: authenticate the raw body against the
// projects' webhook secrets, parse the push, pick the project, apply its filters and publish
// `requested`, answering only after the JetStream ack. /hooks/<provider>/<project> checks one
// project's secret, one HMAC per request. The shared URL checks only the projects whose
// repository name or URL occurs in the raw body (else every project), at most
// webhook.max-secrets-tried of them: an unauthenticated body costs a bounded number of HMACs.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "http/server.h"
#include "json/writer.h"
#include "secrets/secret_store.h"
#include "webhook-ingest/event_publisher.h"
#include "webhook-ingest/ingest_options.h"
#include "webhook-ingest/project_cache.h"
#include "webhook-ingest/push_event.h"

namespace kiln::webhook {

class WebhookRoutes {
 public:
  WebhookRoutes(ProjectCache& projects, EventPublisher& publisher, http::Metrics& metrics,
                const IngestOptions& options)
      : projects_(projects),
        publisher_(publisher),
        metrics_(metrics),
        options_(options),
        store_(options.secrets_dir) {}

  void add_to(http::Server& server);
  // `project`: the project named in the URL; empty on the shared URL.
  http::Response handle(Provider provider, http::Request& request, const std::string& project);

 private:
  http::Response process(Provider provider, http::Request& request, const std::string& project,
                         std::string& outcome);
  // One ref's push: ignored by the project's filters, or a `requested` published under
  // `delivery`. Returns the answer's fields and sets `outcome`.
  json::Object request_build(const project::Project& project, const PushEvent& push,
                             Provider provider, const std::string& delivery, std::string& outcome);
  // The projects whose secret a request is checked against.
  std::vector<project::Project> candidates(const http::Request& request,
                                           const std::vector<project::Project>& projects,
                                           const std::string& named) const;
  // Projects whose secret authenticates the request; throws 401 when there is none.
  std::vector<project::Project> authenticated(Provider provider, const http::Request& request,
                                              const std::vector<project::Project>& projects);
  void record(Provider provider, const std::string& outcome,
              std::chrono::steady_clock::time_point started);

  ProjectCache& projects_;
  EventPublisher& publisher_;
  http::Metrics& metrics_;
  const IngestOptions& options_;
  const secrets::SecretStore store_;  // store:NAME webhook secrets
};

}  // namespace kiln::webhook
