// webhook-ingest assembled: the project cache, the event publisher and the HTTP routes on one
// server. main() and the integration tests build it the same way from a connected Bus.
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
#include "webhook-ingest/upload_routes.h"
#include "webhook-ingest/webhook_routes.h"

namespace kiln::webhook {

class IngestService {
 public:
  // Opens the project bucket, loads the projects and starts serving; throws std::runtime_error
  // when the bucket cannot be opened or api.tokens is invalid.
  IngestService(bus::Bus& bus, IngestOptions options, http::ServerOptions server_options);
  ~IngestService();
  IngestService(const IngestService&) = delete;
  IngestService& operator=(const IngestService&) = delete;

  int port() const { return server_->port(); }
  http::Metrics& metrics() { return server_->metrics(); }
  // Stops taking requests and lets in-flight ones finish (up to `drain_ms`).
  void stop(int drain_ms = 5000);

 private:
  bus::Bus& bus_;
  IngestOptions options_;
  http::TokenAuth auth_;
  std::unique_ptr<bus::KeyValue> kv_;
  std::unique_ptr<ProjectCache> cache_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<EventPublisher> publisher_;
  std::unique_ptr<WebhookRoutes> webhooks_;
  std::unique_ptr<ProjectRoutes> projects_;
  std::unique_ptr<BuildRoutes> builds_;
  std::unique_ptr<UploadRoutes> uploads_;
};

}  // namespace kiln::webhook
