// PUT/GET/DELETE /v1/projects/{name} and GET /v1/projects: project configuration in bucket
// kiln_projects. Writes need the admin role in the project's tenant; the webhook secret is
// stored by reference and never echoed back.
#pragma once

#include "bus/kv.h"
#include "http/auth.h"
#include "http/server.h"
#include "webhook-ingest/project_cache.h"

namespace kiln::webhook {

class ProjectRoutes {
 public:
  ProjectRoutes(bus::KeyValue& kv, ProjectCache& cache, const http::TokenAuth& auth)
      : kv_(kv), cache_(cache), auth_(auth) {}

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
};

}  // namespace kiln::webhook
