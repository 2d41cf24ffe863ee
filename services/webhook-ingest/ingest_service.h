// kiln-webhook-ingest assembled: the project cache, the event publisher and the HTTP routes on
// one server. main() and the integration tests construct it the same way.
#pragma once

#include <memory>

#include "bus/bus.h"
#include "bus/kv.h"
#include "http/auth.h"
#include "http/server.h"
#include "webhook-ingest/build_routes.h"
#include "webhook-ingest/event_publisher.h"
#include "webhook-ingest/ingest_options.h"
#include "webhook-ingest/project_cache.h"
#include "webhook-ingest/project_routes.h"
#include "webhook-ingest/tenant_policy.h"
#include "webhook-ingest/upload_routes.h"
#include "webhook-ingest/webhook_routes.h"

namespace kiln::webhook {

class IngestService {
 public:
  // Throws StartupError when api.tokens is invalid. `bus` must outlive this object.
  IngestService(const IngestOptions& options, bus::Bus& bus);
  ~IngestService() { stop(); }
  IngestService(const IngestService&) = delete;
  IngestService& operator=(const IngestService&) = delete;

  // Opens the project bucket, loads the projects and starts serving; throws StartupError when
  // the bucket cannot be opened.
  void start();
  // Stops taking requests and lets in-flight ones finish (up to `drain_ms`). Idempotent.
  void stop(int drain_ms = 5000);

  int port() const { return server_.port(); }
  http::Metrics& metrics() { return server_.metrics(); }

 private:
  const IngestOptions options_;
  bus::Bus& bus_;
  const http::TokenAuth auth_;
  const TenantPolicy policy_;
  http::Server server_;
  EventPublisher publisher_;
  // Made by start(): they need the project bucket.
  std::unique_ptr<bus::KeyValue> kv_;
  std::unique_ptr<ProjectCache> cache_;
  std::unique_ptr<WebhookRoutes> webhooks_;
  std::unique_ptr<ProjectRoutes> projects_;
  std::unique_ptr<secrets::BuildSecrets> build_secrets_;
  std::unique_ptr<BuildRoutes> builds_;
  std::unique_ptr<UploadRoutes> uploads_;
  bool stopped_ = false;
};

}  // namespace kiln::webhook
