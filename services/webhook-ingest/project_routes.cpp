#include "webhook-ingest/project_routes.h"

#include <Poco/JSON/Object.h>

#include <algorithm>
#include <sstream>

#include "common/log.h"
#include "json/reader.h"
#include "json/writer.h"
#include "webhook-ingest/api_json.h"

namespace kiln::webhook {
namespace {

[[noreturn]] void throw_unavailable(const Error& error) {
  throw http::HttpError(503, "unavailable", "project bucket: " + error.describe());
}

bool may_see(const http::Principal& principal, const std::string& tenant) {
  return (principal.admin && principal.tenant == "*") || principal.tenant == tenant;
}

}  // namespace

void ProjectRoutes::add_to(http::Server& server) {
  server.route("PUT", "/v1/projects/{name}", [this](http::Request& r) { return put(r); });
  server.route("GET", "/v1/projects/{name}", [this](http::Request& r) { return get(r); });
  server.route("DELETE", "/v1/projects/{name}", [this](http::Request& r) { return remove(r); });
  server.route("GET", "/v1/projects", [this](http::Request& r) { return list(r); });
}

std::optional<std::pair<project::Project, std::uint64_t>> ProjectRoutes::load(
    const std::string& name) {
  auto entry = kv_.get(name);
  if (!entry.ok()) throw_unavailable(entry.error());
  if (!entry.value()) return std::nullopt;
  auto parsed = project::parse_project(entry.value()->value);
  if (!parsed.ok()) {
    throw http::HttpError(500, "internal",
                          "stored project " + name + " is invalid: " + parsed.error().message);
  }
  return std::make_pair(std::move(parsed.value()), entry.value()->revision);
}

http::Response ProjectRoutes::put(http::Request& request) {
  const http::Principal principal = auth_.require(request, http::Role::kAdmin);
  const std::string name = request.path_params.at("name");
  if (!project::valid_project_name(name)) {
    throw http::HttpError(422, "invalid_field",
                          "name: must be 1-63 characters of a-z, 0-9, '-' or '_'");
  }
  // The body may omit the name; the path names the project.
  Poco::JSON::Object::Ptr object;
  try {
    object = json::parse_object(request.body);
  } catch (const Error& e) {
    throw_field_error(e);
  }
  if (object->has("name") && !object->isNull("name")) {
    const auto given = object->get("name");
    if (!given.isString() || given.convert<std::string>() != name) {
      throw http::HttpError(422, "invalid_field",
                            "name: must equal the project name in the path (" + name + ")");
    }
  }
  object->set("name", name);
  std::ostringstream normalized;
  object->stringify(normalized);
  auto parsed = project::parse_project(normalized.str());
  if (!parsed.ok()) throw http::HttpError(422, "invalid_field", parsed.error().message);
  const project::Project& p = parsed.value();
  http::TokenAuth::require_tenant(principal, p.tenant);
  const std::string registry = p.registry.empty() ? default_registry_ : p.registry;
  if (auto refused = policy_.image_refusal(p.tenant, registry, p.image_repository)) {
    throw http::HttpError(403, "forbidden", *refused);
  }
  if (auto refused = policy_.source_refusal(p.tenant, p.repository_url)) {
    throw http::HttpError(403, "forbidden", *refused);
  }
  if (auto refused = policy_.secret_ref_refusal(p.tenant, p.webhook_secret_ref)) {
    throw http::HttpError(403, "forbidden", *refused);
  }

  auto existing = load(name);
  if (existing) http::TokenAuth::require_tenant(principal, existing->first.tenant);
  auto revision = kv_.put(name, project::to_json(p, true));
  if (!revision.ok()) throw_unavailable(revision.error());
  cache_.put(p, *revision);
  log::info("project saved", {{"project", name}, {"tenant", p.tenant}, {"by", principal.name}});
  return http::json_response(existing ? 200 : 201, project::to_json(p, false));
}

http::Response ProjectRoutes::get(http::Request& request) {
  const http::Principal principal = auth_.require(request, http::Role::kRead);
  const std::string name = request.path_params.at("name");
  auto existing = project::valid_project_name(name) ? load(name) : std::nullopt;
  if (!existing) throw http::HttpError(404, "not_found", "project " + name + " does not exist");
  http::TokenAuth::require_tenant(principal, existing->first.tenant);
  return http::json_response(200, project::to_json(existing->first, false));
}

http::Response ProjectRoutes::remove(http::Request& request) {
  const http::Principal principal = auth_.require(request, http::Role::kAdmin);
  const std::string name = request.path_params.at("name");
  auto existing = project::valid_project_name(name) ? load(name) : std::nullopt;
  if (!existing) throw http::HttpError(404, "not_found", "project " + name + " does not exist");
  http::TokenAuth::require_tenant(principal, existing->first.tenant);
  if (auto removed = kv_.remove(name); !removed.ok()) throw_unavailable(removed.error());
  // The delete marker's revision is above the value's; the watcher brings the exact one later.
  cache_.erase(name, existing->second + 1);
  log::info("project deleted", {{"project", name}, {"by", principal.name}});
  return http::json_response(200, json::Object().add("status", "deleted").add("name", name).str());
}

http::Response ProjectRoutes::list(http::Request& request) {
  const http::Principal principal = auth_.require(request, http::Role::kRead);
  auto keys = kv_.keys();
  if (!keys.ok()) throw_unavailable(keys.error());
  std::sort(keys->begin(), keys->end());
  json::Array projects;
  for (const auto& key : *keys) {
    auto entry = kv_.get(key);
    if (!entry.ok()) throw_unavailable(entry.error());
    if (!entry.value()) continue;  // deleted between keys() and get()
    auto parsed = project::parse_project(entry.value()->value);
    if (!parsed.ok()) {
      log::error("invalid project in bucket",
                 {{"project", key}, {"error", parsed.error().describe()}});
      continue;
    }
    if (!may_see(principal, parsed->tenant)) continue;
    projects.add(json::Raw{project::to_json(*parsed, false)});
  }
  return http::json_response(200, json::Object().add("projects", projects).str());
}

}  // namespace kiln::webhook
