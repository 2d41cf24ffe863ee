// PUT/GET/DELETE /v1/projects/{name} and GET /v1/projects: project configuration in bucket
// kiln_projects. Writes need the admin role in the project's tenant; the webhook secret is
// stored by reference and never echoed back. A project whose image or source its tenant may not
// use (tenant_policy.h) is refused with 403.
#pragma once

#include "bus/kv.h"
#include "http/auth.h"
#include "http/server.h"
#include "webhook-ingest/project_cache.h"
#include "webhook-ingest/tenant_policy.h"

namespace kiln::webhook {

class ProjectRoutes {
 public:
  ProjectRoutes(bus::KeyValue& kv, ProjectCache& cache, const http::TokenAuth& auth,
                const TenantPolicy& policy, std::string default_registry)
      : kv_(kv),
        cache_(cache),
        auth_(auth),
        policy_(policy),
        default_registry_(std::move(default_registry)) {}

  void add_to(http::Server& server);

 private:
  http::Response put(http::Request& request);
  http::Response get(http::Request& request);
  http::Response remove(http::Request& request);
  http::Response list(http::Request& request);
  // The stored project, or nullopt; 503 when the bucket cannot be read.
  std::optional<std::pair<project::Project, std::uint64_t>> load(const std::string& name);

  bus::KeyValue& kv_;
  ProjectCache& cache_;
  const http::TokenAuth& auth_;
  const TenantPolicy& policy_;
  std::string default_registry_;
};

}  // namespace kiln::webhook
