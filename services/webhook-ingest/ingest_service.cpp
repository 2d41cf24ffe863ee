#include "webhook-ingest/ingest_service.h"

#include "bus/topology.h"
#include "common/log.h"
#include "json/writer.h"
#include "service/service.h"

namespace kiln::webhook {
namespace {

std::string producer(const IngestOptions& options) {
  return options.common.instance.empty() ? "webhook-ingest" : options.common.instance;
}

}  // namespace

IngestService::IngestService(const IngestOptions& options, bus::Bus& bus)
    : options_(options),
      bus_(bus),
      auth_(service::require(http::TokenAuth::parse(options_.api_tokens), "api.tokens")),
      policy_(service::require(
          TenantPolicy::parse(options_.tenant_image_prefixes, options_.local_source_tenants,
                              options_.server_secret_tenants),
          "tenants.image-prefixes")),
      server_("webhook-ingest", options_.common.http),
      publisher_(bus_, server_.metrics(), producer(options_), options_.publish_timeout_ms) {
  service::add_nats_readiness(server_, bus_);
}

void IngestService::start() {
  kv_ = service::require(bus::KeyValue::open(bus_, bus::kProjectsBucket, {}),
                         "opening kiln_projects");
  cache_ = service::require(ProjectCache::start(bus_), "loading projects");
  webhooks_ = std::make_unique<WebhookRoutes>(*cache_, publisher_, server_.metrics(), options_);
  projects_ =
      std::make_unique<ProjectRoutes>(*kv_, *cache_, auth_, policy_, options_.default_registry);
  if (!options_.secrets_key_file.empty()) {
    const auto key =
        service::require(secrets::SealingKey::load(options_.secrets_key_file), "secrets.key-file");
    build_secrets_ =
        service::require(secrets::BuildSecrets::open(bus_, key), "opening kiln_build_secrets");
  }
  builds_ = std::make_unique<BuildRoutes>(*kv_, *cache_, publisher_, auth_, options_, policy_,
                                          build_secrets_.get());
  uploads_ = std::make_unique<UploadRoutes>(bus_, auth_, server_.metrics(), options_);
  webhooks_->add_to(server_);
  projects_->add_to(server_);
  builds_->add_to(server_);
  uploads_->add_to(server_);
  // Who a token is (kiln login, kiln whoami): any role may ask.
  server_.route("GET", "/v1/whoami", [this](http::Request& request) {
    const http::Principal principal = auth_.require(request, http::Role::kRead);
    json::Array roles;
    if (principal.read) roles.add("read");
    if (principal.build) roles.add("build");
    if (principal.admin) roles.add("admin");
    return http::json_response(200, json::Object()
                                        .add("name", principal.name)
                                        .add("tenant", principal.tenant)
                                        .add("roles", roles)
                                        .str());
  });
  server_.start();
  log::info("webhook-ingest ready", {{"http_port", server_.port()}});
}

void IngestService::stop(int drain_ms) {
  if (stopped_) return;
  stopped_ = true;
  server_.stop(drain_ms);
}

}  // namespace kiln::webhook
