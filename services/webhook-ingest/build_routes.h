// The build commands: POST /v1/builds (a project at a ref, or an uploaded Dockerfile),
// DELETE /v1/builds/{id} (cancel) and POST /v1/builds/{id}/retry. Each publishes one event and
// answers 202 once JetStream has stored it; the build's state is served by analytics.
#pragma once

#include <string>

#include "bus/kv.h"
#include "http/auth.h"
#include "http/server.h"
#include "json/reader.h"
#include "webhook-ingest/event_publisher.h"
#include "webhook-ingest/ingest_options.h"
#include "webhook-ingest/project_cache.h"

namespace kiln::webhook {

class BuildRoutes {
 public:
  BuildRoutes(bus::KeyValue& kv, ProjectCache& cache, EventPublisher& publisher,
              const http::TokenAuth& auth, const IngestOptions& options)
      : kv_(kv), cache_(cache), publisher_(publisher), auth_(auth), options_(options) {}

  void add_to(http::Server& server);

 private:
  http::Response create(http::Request& request);
  http::Response cancel(http::Request& request);
  http::Response retry(http::Request& request);

  events::v1::BuildRequested git_build(const json::Reader& body, const http::Principal& principal);
  events::v1::BuildRequested upload_build(const json::Reader& body,
                                          const http::Principal& principal);
  project::Project find_project(const std::string& name);
  // The original `requested` of a build; 404 when there is none.
  events::v1::BuildRequested original_request(const std::string& build_id);
  void check_registry(const std::string& registry, const project::Project* project) const;
  std::string new_build_id(const http::Request& request, const http::Principal& principal) const;
  // `retry_of`: the build this one retries, if it does.
  http::Response accepted(const std::string& build_id, const events::v1::BuildRequested& request,
                          const std::string& retry_of = {});

  bus::KeyValue& kv_;
  ProjectCache& cache_;
  EventPublisher& publisher_;
  const http::TokenAuth& auth_;
  const IngestOptions& options_;
};

}  // namespace kiln::webhook
