// The build commands: POST /v1/builds (a project at a ref, or an uploaded Dockerfile),
// DELETE /v1/builds/{id} (cancel) and POST /v1/builds/{id}/retry. Each publishes one event and
// answers 202 once JetStream has stored it; the build's state is served by analytics. Secrets
// given to a build ("secrets": {"ID": "<base64>"}) are sealed into kiln_build_secrets before its
// `requested`, which names their ids only (secrets/build_secrets.h).
#pragma once

#include <string>

#include "bus/kv.h"
#include "http/auth.h"
#include "http/server.h"
#include "json/reader.h"
#include "secrets/build_secrets.h"
#include "webhook-ingest/event_publisher.h"
#include "webhook-ingest/ingest_options.h"
#include "webhook-ingest/project_cache.h"
#include "webhook-ingest/tenant_policy.h"

namespace kiln::webhook {

class BuildRoutes {
 public:
  BuildRoutes(bus::KeyValue& kv, ProjectCache& cache, EventPublisher& publisher,
              const http::TokenAuth& auth, const IngestOptions& options, const TenantPolicy& policy,
              secrets::BuildSecrets* build_secrets)
      : kv_(kv),
        cache_(cache),
        publisher_(publisher),
        auth_(auth),
        options_(options),
        policy_(policy),
        build_secrets_(build_secrets) {}

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
  // 403 unless the request's tenant may push its image and build from its source.
  void check_tenant_may(const events::v1::BuildRequested& request) const;
  std::string new_build_id(const http::Request& request, const http::Principal& principal) const;
  // Seals `given` (id -> value) for `build_id` and names the ids in the spec.
  void store_secrets(const std::string& build_id, const std::map<std::string, std::string>& given,
                     events::v1::BuildSpec& spec);
  // `retry_of`: the build this one retries, if it does.
  http::Response accepted(const std::string& build_id, const events::v1::BuildRequested& request,
                          const std::string& retry_of = {});

  bus::KeyValue& kv_;
  ProjectCache& cache_;
  EventPublisher& publisher_;
  const http::TokenAuth& auth_;
  const IngestOptions& options_;
  const TenantPolicy& policy_;
  secrets::BuildSecrets* build_secrets_;  // nullptr without secrets.key-file
};

}  // namespace kiln::webhook
