#include "webhook-ingest/build_routes.h"

#include <Poco/Base64Decoder.h>

#include <algorithm>
#include <sstream>

#include "bus/consumer.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "common/log.h"
#include "events/subjects.h"
#include "json/writer.h"
#include "webhook-ingest/api_json.h"
#include "webhook-ingest/upload_store.h"

namespace kiln::webhook {
namespace {

constexpr std::size_t kMaxDockerfileBytes = 256 * 1024;
constexpr int kMaxPriority = 1000;

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

std::vector<std::string> checked_tags(const json::Reader& body) {
  auto tags = body.strings("tags");
  for (size_t i = 0; i < tags.size(); ++i) {
    if (!project::valid_tag(tags[i])) {
      throw json::invalid_field("tags[" + std::to_string(i) + "]",
                                "'" + tags[i] + "' is not a valid image tag");
    }
  }
  return tags;
}

void apply_overrides(const json::Reader& body, events::v1::BuildSpec& spec) {
  for (const auto& [k, v] : body.string_map("build_args")) {
    if (k.empty() || k.find('=') != std::string::npos) {
      throw json::invalid_field("build_args." + k, "is not a valid build argument name");
    }
    (*spec.mutable_build_args())[k] = v;
  }
  for (const auto& [k, v] : body.string_map("labels")) {
    if (k.empty() || k.find('=') != std::string::npos) {
      throw json::invalid_field("labels." + k, "is not a valid label name");
    }
    (*spec.mutable_labels())[k] = v;
  }
  if (body.has("target")) spec.set_target(body.string("target"));
  spec.set_no_cache(body.boolean("no_cache", false));
  spec.set_priority(static_cast<int>(body.integer("priority", 0, -kMaxPriority, kMaxPriority)));
}

std::string decode_base64(const std::string& text, const std::string& field,
                          std::size_t max_bytes = kMaxDockerfileBytes,
                          const std::string& what = "the Dockerfile") {
  std::istringstream in(text);
  Poco::Base64Decoder decoder(in);
  std::string out;
  char buf[4096];
  try {
    while (decoder) {
      decoder.read(buf, sizeof buf);
      out.append(buf, static_cast<size_t>(decoder.gcount()));
      if (out.size() > max_bytes) {
        throw json::invalid_field(
            field, what + " is larger than " + std::to_string(max_bytes / 1024) + " KiB");
      }
    }
  } catch (const Poco::Exception& e) {
    throw json::invalid_field(field, "is not valid base64: " + e.displayText());
  }
  if (!decoder.eof() && decoder.bad()) throw json::invalid_field(field, "is not valid base64");
  return out;
}

// "secrets": {"ID": "<base64 value>", ...}, checked and decoded.
std::map<std::string, std::string> given_secrets(const json::Reader& body) {
  std::map<std::string, std::string> given;
  for (const auto& [id, encoded] : body.string_map("secrets")) {
    const std::string field = "secrets." + id;
    if (!secrets::valid_secret_id(id)) {
      throw json::invalid_field(field, "a secret id is 1 to 64 letters, digits, '_' or '-'");
    }
    given[id] = decode_base64(encoded, field, secrets::kMaxBuildSecretBytes, "the secret");
  }
  if (given.size() > secrets::kMaxBuildSecrets) {
    throw json::invalid_field(
        "secrets", "at most " + std::to_string(secrets::kMaxBuildSecrets) + " secrets per build");
  }
  return given;
}

}  // namespace

void BuildRoutes::add_to(http::Server& server) {
  server.route("POST", "/v1/builds", [this](http::Request& r) { return create(r); });
  server.route("DELETE", "/v1/builds/{id}", [this](http::Request& r) { return cancel(r); });
  server.route("POST", "/v1/builds/{id}/retry", [this](http::Request& r) { return retry(r); });
}

project::Project BuildRoutes::find_project(const std::string& name) {
  if (auto cached = cache_.get(name)) return *cached;
  // Not seen by the watcher yet (or written by another replica a moment ago): ask the bucket.
  auto entry = project::valid_project_name(name)
                   ? kv_.get(name)
                   : Result<std::optional<bus::KvEntry>>(std::nullopt);
  if (!entry.ok()) throw http::HttpError(503, "unavailable", entry.error().describe());
  if (!entry.value())
    throw http::HttpError(404, "not_found", "project " + name + " does not exist");
  auto parsed = project::parse_project(entry.value()->value);
  if (!parsed.ok()) throw http::HttpError(500, "internal", parsed.error().describe());
  return parsed.value();
}

void BuildRoutes::check_registry(const std::string& registry,
                                 const project::Project* project) const {
  if (registry.empty()) return;
  const auto& allowed = options_.allowed_registries;
  if (registry == options_.default_registry || (project && registry == project->registry) ||
      std::find(allowed.begin(), allowed.end(), registry) != allowed.end()) {
    return;
  }
  throw json::invalid_field("registry", "'" + registry +
                                            "' is neither the default registry, the project's "
                                            "registry nor in registry.allowed");
}

void BuildRoutes::check_tenant_may(const events::v1::BuildRequested& request) const {
  const auto& spec = request.spec();
  if (auto refused =
          policy_.image_refusal(request.tenant(), spec.registry(), spec.image_repository())) {
    throw http::HttpError(403, "forbidden", *refused);
  }
  if (request.has_git()) {
    if (auto refused = policy_.source_refusal(request.tenant(), request.git().repo_url())) {
      throw http::HttpError(403, "forbidden", *refused);
    }
  }
}

std::string BuildRoutes::new_build_id(const http::Request& request,
                                      const http::Principal& principal) const {
  const std::string key = request.header("Idempotency-Key");
  if (key.empty()) return random_id();
  // Scoped to the tenant so two tenants' keys never collide.
  return stable_id("api:" + principal.tenant + ":" + key);
}

events::v1::BuildRequested BuildRoutes::git_build(const json::Reader& body,
                                                  const http::Principal& principal) {
  body.reject_unknown({"project", "ref", "commit", "build_args", "labels", "target", "tags",
                       "no_cache", "priority", "registry", "secrets"});
  const std::string name = body.required_string("project");
  const project::Project p = find_project(name);
  http::TokenAuth::require_tenant(principal, p.tenant);

  std::string ref = body.string("ref");
  if (ref.empty()) ref = "refs/heads/" + p.default_branch;
  const std::string commit = body.string("commit");
  if (!commit.empty() && (commit.size() < 7 || commit.size() > 64 || !is_hex(commit))) {
    throw json::invalid_field("commit", "must be a hex commit id of 7 to 64 digits");
  }
  const std::string registry = body.string("registry");
  check_registry(registry, &p);

  events::v1::BuildRequested request;
  request.set_project(p.name);
  request.set_tenant(p.tenant);
  request.mutable_trigger()->set_kind(events::v1::Trigger::MANUAL);
  request.mutable_trigger()->set_actor(principal.name);
  auto* git = request.mutable_git();
  git->set_repo_url(p.repository_url);
  git->set_ref(ref);
  git->set_commit(commit);
  git->set_default_branch(!project::is_tag_ref(ref) && project::short_ref(ref) == p.default_branch);
  auto& spec = *request.mutable_spec();
  spec = project::build_spec(p, options_.default_registry);
  if (!registry.empty()) spec.set_registry(registry);
  apply_overrides(body, spec);
  auto tags = checked_tags(body);
  if (tags.empty()) tags = project::tags_for(p, ref, commit);
  for (const auto& tag : tags) spec.add_tags(tag);
  request.set_project_concurrency(p.concurrency);
  request.set_max_queue_seconds(p.max_queue_seconds);
  return request;
}

events::v1::BuildRequested BuildRoutes::upload_build(const json::Reader& body,
                                                     const http::Principal& principal) {
  body.reject_unknown({"dockerfile_base64", "image", "tag", "tags", "registry", "build_args",
                       "labels", "target", "platform", "context_upload_id", "project", "no_cache",
                       "priority", "secrets"});
  const std::string dockerfile =
      decode_base64(body.required_string("dockerfile_base64"), "dockerfile_base64");
  if (dockerfile.empty()) throw json::invalid_field("dockerfile_base64", "the Dockerfile is empty");
  const std::string image = body.required_string("image");
  if (!project::valid_repository_path(image)) {
    throw json::invalid_field("image", "'" + image + "' is not a valid repository name");
  }
  // "tag" names one tag, "tags" several (kiln build -t ... -t ...); neither is "latest".
  std::vector<std::string> tags = checked_tags(body);
  if (body.has("tag") && !tags.empty()) throw json::invalid_field("tags", "give tag or tags");
  if (tags.empty()) {
    const std::string tag = body.string("tag", "latest");
    if (!project::valid_tag(tag)) {
      throw json::invalid_field("tag", "'" + tag + "' is not a valid tag");
    }
    tags.push_back(tag);
  }
  const std::string registry = body.string("registry");
  check_registry(registry, nullptr);
  // Uploaded builds belong to a project only for accounting; "uploads" unless one is named.
  std::string project_name = body.string("project");
  int concurrency = 0;
  std::string tenant = principal.tenant;
  if (!project_name.empty()) {
    const project::Project p = find_project(project_name);
    http::TokenAuth::require_tenant(principal, p.tenant);
    tenant = p.tenant;
    concurrency = p.concurrency;
  } else {
    project_name = "uploads";
  }

  events::v1::BuildRequested request;
  request.set_project(project_name);
  request.set_tenant(tenant);
  request.set_project_concurrency(concurrency);
  request.mutable_trigger()->set_kind(events::v1::Trigger::MANUAL);
  request.mutable_trigger()->set_actor(principal.name);
  auto* upload = request.mutable_upload();
  upload->set_dockerfile(dockerfile);
  const std::string context_id = body.string("context_upload_id");
  if (!context_id.empty()) {
    if (!events::valid_token(context_id)) {
      throw json::invalid_field("context_upload_id", "is not an upload id");
    }
    auto stored = find_upload(publisher_.bus(), context_id);
    // Another tenant's upload is as good as none (an upload of the global admin's is anyone's):
    // the same 404, so its existence is not told either.
    if (stored.ok() && !stored->tenant.empty() && stored->tenant != "*" &&
        stored->tenant != principal.tenant && principal.tenant != "*") {
      stored = make_error(ErrorCode::kNotFound, "upload " + context_id + " does not exist");
    }
    if (!stored.ok()) {
      if (stored.error().code == ErrorCode::kNotFound) {
        throw http::HttpError(404, "not_found",
                              "context_upload_id: upload " + context_id +
                                  " does not exist, did not complete, or has expired (a day)");
      }
      throw http::HttpError(503, "unavailable", stored.error().describe());
    }
    upload->set_context_upload_id(context_id);
    upload->set_context_sha256(stored->sha256);
    upload->set_context_size(stored->size);
    upload->set_context_format(stored->format);
  }
  auto& spec = *request.mutable_spec();
  spec.set_dockerfile("Dockerfile");
  spec.set_context(".");
  spec.set_image_repository(image);
  for (const auto& tag : tags) spec.add_tags(tag);
  spec.set_registry(registry.empty() ? options_.default_registry : registry);
  const std::string platform = body.string("platform");
  if (!platform.empty()) spec.add_platforms(platform);
  apply_overrides(body, spec);
  return request;
}

http::Response BuildRoutes::accepted(const std::string& build_id,
                                     const events::v1::BuildRequested& request,
                                     const std::string& retry_of) {
  auto published = publisher_.requested(build_id, request);
  if (!published.ok()) http::throw_error(published.error());
  log::info("build requested", {{"build_id", build_id},
                                {"project", request.project()},
                                {"trigger", events::trigger_name(request.trigger().kind())},
                                {"actor", request.trigger().actor()},
                                {"duplicate", published->duplicate}});
  json::Object answer;
  answer.add("build_id", build_id)
      .add("status", "accepted")
      .add("duplicate", published->duplicate)
      .add("project", request.project());
  if (!retry_of.empty()) answer.add("retry_of", retry_of);
  answer.add("links", json::Raw{build_links_json(build_id)});
  return http::json_response(202, answer.str());
}

http::Response BuildRoutes::create(http::Request& request) {
  const http::Principal principal = auth_.require(request, http::Role::kBuild);
  const json::Reader body = api_body(request.body);
  events::v1::BuildRequested build;
  std::map<std::string, std::string> secrets;
  try {
    build =
        body.has("dockerfile_base64") ? upload_build(body, principal) : git_build(body, principal);
    secrets = given_secrets(body);
  } catch (const Error& e) {
    throw_field_error(e);
  }
  check_tenant_may(build);
  const std::string build_id = new_build_id(request, principal);
  if (!secrets.empty()) store_secrets(build_id, secrets, *build.mutable_spec());
  return accepted(build_id, build);
}

void BuildRoutes::store_secrets(const std::string& build_id,
                                const std::map<std::string, std::string>& given,
                                events::v1::BuildSpec& spec) {
  if (build_secrets_ == nullptr) {
    throw http::HttpError(400, "secrets_not_configured",
                          "this server takes no build secrets: its operator has not set "
                          "secrets.key-file on webhook-ingest and the builders");
  }
  // Stored before `requested` is: a builder that takes the build finds them.
  for (const auto& [id, value] : given) {
    if (auto s = build_secrets_->put(build_id, id, value); !s.ok()) {
      throw http::HttpError(503, "unavailable",
                            "storing build secret " + id + ": " + s.error().describe());
    }
    spec.add_secret_ids(id);
  }
}

events::v1::BuildRequested BuildRoutes::original_request(const std::string& build_id) {
  if (!events::valid_token(build_id)) {
    throw http::HttpError(404, "not_found", "build " + build_id + " does not exist");
  }
  auto last = bus::last_message(publisher_.bus(), bus::kEventsStream,
                                events::build_subject("requested", build_id));
  if (!last.ok()) throw http::HttpError(503, "unavailable", last.error().describe());
  if (!last.value())
    throw http::HttpError(404, "not_found", "build " + build_id + " does not exist");
  auto envelope = events::decode(last.value()->data());
  if (!envelope.ok() || !envelope->has_requested()) {
    throw http::HttpError(500, "internal",
                          "the requested event of build " + build_id + " cannot be decoded");
  }
  return envelope->requested();
}

http::Response BuildRoutes::cancel(http::Request& request) {
  const http::Principal principal = auth_.require(request, http::Role::kBuild);
  const std::string build_id = request.path_params.at("id");
  const auto original = original_request(build_id);
  http::TokenAuth::require_tenant(principal, original.tenant());
  const std::string reason = request.query_or("reason", "cancelled by " + principal.name);
  auto published = publisher_.cancel_requested(build_id, principal.name, reason);
  if (!published.ok()) http::throw_error(published.error());
  log::info("cancel requested", {{"build_id", build_id}, {"by", principal.name}});
  return http::json_response(202, json::Object()
                                      .add("build_id", build_id)
                                      .add("status", "cancel_requested")
                                      .add("duplicate", published->duplicate)
                                      .add("links", json::Raw{build_links_json(build_id)})
                                      .str());
}

http::Response BuildRoutes::retry(http::Request& request) {
  const http::Principal principal = auth_.require(request, http::Role::kBuild);
  const std::string original_id = request.path_params.at("id");
  events::v1::BuildRequested build = original_request(original_id);
  http::TokenAuth::require_tenant(principal, build.tenant());
  check_tenant_may(build);  // the policy may have changed since
  if (build.spec().secret_ids_size() > 0) {
    throw http::HttpError(409, "secrets_not_kept",
                          "build " + original_id +
                              " was given secrets of its own, which kiln does not keep once a "
                              "build ends; request a new build with them");
  }
  auto* trigger = build.mutable_trigger();
  trigger->Clear();
  trigger->set_kind(events::v1::Trigger::RETRY);
  trigger->set_actor(principal.name);
  trigger->set_retry_of(original_id);
  return accepted(new_build_id(request, principal), build, original_id);
}

}  // namespace kiln::webhook
