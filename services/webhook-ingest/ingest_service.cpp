#include "webhook-ingest/ingest_service.h"

#include <stdexcept>

#include "bus/topology.h"
#include "service/service.h"

namespace kiln::webhook {
namespace {

template <typename T>
T or_throw(Result<T> result, const std::string& what) {
  if (!result.ok()) throw std::runtime_error(what + ": " + result.error().describe());
  return std::move(result.value());
}

}  // namespace

IngestService::IngestService(bus::Bus& bus, IngestOptions options,
                             http::ServerOptions server_options)
    : bus_(bus),
      options_(std::move(options)),
      auth_(or_throw(http::TokenAuth::parse(options_.api_tokens), "api.tokens")) {
  kv_ = or_throw(bus::KeyValue::open(bus_, bus::kProjectsBucket, {}), "open kiln_projects");
  cache_ = or_throw(ProjectCache::start(bus_), "load projects");
  server_ = std::make_unique<http::Server>("webhook-ingest", server_options);
  publisher_ = std::make_unique<EventPublisher>(bus_, server_->metrics(), options_.producer,
                                                options_.publish_timeout_ms);
  webhooks_ = std::make_unique<WebhookRoutes>(*cache_, *publisher_, server_->metrics(), options_);
  projects_ = std::make_unique<ProjectRoutes>(*kv_, *cache_, auth_);
  builds_ = std::make_unique<BuildRoutes>(*kv_, *cache_, *publisher_, auth_, options_);
  uploads_ = std::make_unique<UploadRoutes>(bus_, auth_, options_);
  webhooks_->add_to(*server_);
  projects_->add_to(*server_);
  builds_->add_to(*server_);
  uploads_->add_to(*server_);
  service::add_nats_readiness(*server_, bus_);
  server_->start();
}

IngestService::~IngestService() { stop(0); }

void IngestService::stop(int drain_ms) {
  if (server_) server_->stop(drain_ms);
}

}  // namespace kiln::webhook
