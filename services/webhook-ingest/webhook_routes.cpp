#include "webhook-ingest/webhook_routes.h"

#include "common/failpoint.h"
#include "common/ids.h"
#include "common/log.h"
#include "events/subjects.h"
#include "json/writer.h"
#include "secrets/secret_store.h"
#include "webhook-ingest/metrics.h"
#include "webhook-ingest/push_decision.h"
#include "webhook-ingest/signature.h"

namespace kiln::webhook {
namespace {

constexpr std::size_t kMaxDeliveryIdSize = 200;

struct Headers {
  const char* signature;
  const char* event;
  std::vector<const char*> delivery;
};

Headers headers_of(Provider provider) {
  switch (provider) {
    case Provider::kGithub:
      return {"X-Hub-Signature-256", "X-GitHub-Event", {"X-GitHub-Delivery"}};
    case Provider::kGitlab:
      return {"X-Gitlab-Token", "X-Gitlab-Event", {"X-Gitlab-Event-UUID", "Idempotency-Key"}};
    case Provider::kGitea:
      return {"X-Gitea-Signature", "X-Gitea-Event", {"X-Gitea-Delivery", "X-Forgejo-Delivery"}};
    case Provider::kBitbucket:
      return {"X-Hub-Signature", "X-Event-Key", {"X-Request-UUID"}};
  }
  return {"", "", {}};
}

bool verify(Provider provider, const std::string& secret, const std::string& header,
            const std::string& body) {
  switch (provider) {
    case Provider::kGithub:
      return verify_github_signature(secret, header, body);
    case Provider::kGitlab:
      return verify_gitlab_token(secret, header);
    case Provider::kGitea:
      return verify_gitea_signature(secret, header, body);
    case Provider::kBitbucket:  // GitHub's format: "sha256=" + hex HMAC-SHA256
      return verify_github_signature(secret, header, body);
  }
  return false;
}

bool is_push(Provider provider, const std::string& event) {
  switch (provider) {
    case Provider::kGithub:
      return event == "push";
    case Provider::kGitlab:
      return event == "Push Hook" || event == "Tag Push Hook";
    case Provider::kGitea:
      return event == "push";
    case Provider::kBitbucket:
      return event == "repo:push";
  }
  return false;
}

Result<std::vector<PushEvent>> one(Result<PushEvent> push) {
  if (!push.ok()) return push.error();
  return std::vector<PushEvent>{std::move(push.value())};
}

// Every ref the push changed: one for most hosts, one per change for Bitbucket.
Result<std::vector<PushEvent>> parse_pushes(Provider provider, std::string_view body) {
  switch (provider) {
    case Provider::kGithub:
      return one(parse_github_push(body));
    case Provider::kGitlab:
      return one(parse_gitlab_push(body));
    case Provider::kGitea:
      return one(parse_gitea_push(body));
    case Provider::kBitbucket:
      return parse_bitbucket_push(body);
  }
  return make_error(ErrorCode::kInternal, "unknown provider");
}

std::string outcome_for_status(int status) {
  switch (status) {
    case 400:
      return "malformed";
    case 401:
      return "unauthorized";
    case 404:
      return "unknown_repository";
    case 413:
      return "too_large";
    case 422:
      return "invalid";
    case 503:
      return "unavailable";
    default:
      return "error";
  }
}

}  // namespace

void WebhookRoutes::add_to(http::Server& server) {
  http::RouteOptions route;
  route.max_body_bytes = options_.hook_max_body_bytes;
  for (Provider provider :
       {Provider::kGithub, Provider::kGitlab, Provider::kGitea, Provider::kBitbucket}) {
    const std::string path = "/hooks/" + std::string(provider_name(provider));
    server.route(
        "POST", path, [this, provider](http::Request& r) { return handle(provider, r, {}); },
        route);
    server.route(
        "POST", path + "/{project}",
        [this, provider](http::Request& r) {
          return handle(provider, r, r.path_params.at("project"));
        },
        route);
  }
}

http::Response WebhookRoutes::handle(Provider provider, http::Request& request,
                                     const std::string& project) {
  const auto started = std::chrono::steady_clock::now();
  std::string outcome = "error";
  try {
    http::Response response = process(provider, request, project, outcome);
    record(provider, outcome, started);
    return response;
  } catch (const http::HttpError& e) {
    record(provider, outcome_for_status(e.status()), started);
    throw;
  } catch (...) {
    record(provider, "error", started);
    throw;
  }
}

void WebhookRoutes::record(Provider provider, const std::string& outcome,
                           std::chrono::steady_clock::time_point started) {
  const std::string name(provider_name(provider));
  metrics_.counter_add(metric::kRequests, {{"provider", name}, {"outcome", outcome}});
  metrics_.observe(
      metric::kRequestDuration,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
      {{"provider", name}});
}

std::vector<project::Project> WebhookRoutes::candidates(
    const http::Request& request, const std::vector<project::Project>& projects,
    const std::string& named) const {
  std::vector<project::Project> out;
  if (!named.empty()) {
    for (const auto& p : projects) {
      if (p.name == named) out.push_back(p);
    }
    if (out.empty()) {
      throw http::HttpError(404, "unknown_project", "project " + named + " does not exist");
    }
    return out;
  }
  // A push names its repository in the body: the projects whose name or URL occurs in it are
  // tried first, the others after them, and no more than webhook.max-secrets-tried in all.
  const std::string_view body = request.body;
  auto mentioned = [&](const project::Project& p) {
    std::string url = p.repository_url;
    if (url.ends_with(".git")) url.resize(url.size() - 4);
    for (const std::string* s : {&p.repository_name, static_cast<const std::string*>(&url)}) {
      if (!s->empty() && body.find(*s) != std::string_view::npos) return true;
    }
    return false;
  };
  std::vector<project::Project> others;
  for (const auto& p : projects) {
    if (p.webhook_secret_ref.empty()) continue;
    (mentioned(p) ? out : others).push_back(p);
  }
  out.insert(out.end(), others.begin(), others.end());
  const auto limit = static_cast<std::size_t>(options_.hook_max_secrets_tried);
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::vector<project::Project> WebhookRoutes::authenticated(
    Provider provider, const http::Request& request,
    const std::vector<project::Project>& projects) {
  const Headers headers = headers_of(provider);
  const std::string given = request.header(headers.signature);
  if (given.empty()) {
    if (provider == Provider::kGithub && !request.header("X-Hub-Signature").empty()) {
      throw http::HttpError(401, "unauthenticated",
                            "only X-Hub-Signature (HMAC-SHA1) was sent; kiln accepts "
                            "X-Hub-Signature-256 only (set a secret on the webhook)");
    }
    throw http::HttpError(401, "unauthenticated",
                          std::string("missing ") + headers.signature + " header");
  }
  std::vector<project::Project> out;
  for (const auto& p : projects) {
    if (p.webhook_secret_ref.empty()) continue;
    auto name = secrets::store_ref_name(p.webhook_secret_ref);
    auto secret =
        name ? store_.read(p.tenant, *name) : project::resolve_secret(p.webhook_secret_ref);
    if (!secret.ok()) {
      log::warn("webhook secret of project unavailable",
                {{"project", p.name}, {"error", secret.error().describe()}});
      continue;
    }
    if (verify(provider, *secret, given, request.body)) out.push_back(p);
  }
  if (out.empty()) {
    throw http::HttpError(
        401, "unauthenticated",
        std::string(headers.signature) +
            " does not match the webhook secret of any project tried (the shared URL tries at "
            "most webhook.max-secrets-tried; /hooks/<provider>/<project> tries that one)");
  }
  return out;
}

http::Response WebhookRoutes::process(Provider provider, http::Request& request,
                                      const std::string& named_project, std::string& outcome) {
  const std::string provider_str(provider_name(provider));
  const Headers headers = headers_of(provider);
  const auto all_projects = projects_.snapshot();
  // Authenticity first, on the raw bytes: nothing unauthenticated reaches the JSON parser.
  const auto verified =
      authenticated(provider, request, candidates(request, all_projects, named_project));

  std::string event = request.header(headers.event);
  if (event.empty() && provider == Provider::kGitea) event = request.header("X-Forgejo-Event");
  if (event.empty()) {
    throw http::HttpError(422, "missing_field",
                          std::string(headers.event) + ": header is required");
  }
  std::string delivery;
  for (const char* name : headers.delivery) {
    delivery = request.header(name);
    if (!delivery.empty()) break;
  }
  // Without a delivery id, a redelivery is recognised by its identical body.
  if (delivery.empty()) delivery = "sha256-" + sha256_hex(request.body);
  if (delivery.size() > kMaxDeliveryIdSize) {
    throw http::HttpError(422, "invalid_field",
                          std::string(headers.delivery.front()) + ": longer than 200 characters");
  }

  if (provider == Provider::kGithub && event == "ping") {
    outcome = "ping";
    return http::json_response(
        200, json::Object().add("status", "pong").add("delivery_id", delivery).str());
  }
  if (!is_push(provider, event)) {
    outcome = "ignored";
    return http::json_response(202,
                               json::Object()
                                   .add("status", "ignored")
                                   .add("reason", "event '" + event + "' does not start builds")
                                   .str());
  }

  auto pushes = parse_pushes(provider, request.body);
  if (!pushes.ok()) {
    const int status = pushes.error().peer_code == "malformed_json" ? 400 : 422;
    throw http::HttpError(status, pushes.error().peer_code, pushes.error().message);
  }
  // Every change of one delivery is of the same repository.
  const PushEvent& first = pushes->front();
  const auto matching =
      projects_for_repository(all_projects, first.repository_urls, first.repository_full_name);
  if (matching.empty()) {
    const std::string repo = !first.repository_full_name.empty() ? first.repository_full_name
                                                                 : first.repository_urls.front();
    throw http::HttpError(
        404, "unknown_repository",
        "no project is configured for repository " + repo +
            " (set repository_url or repository_name with PUT /v1/projects/{name})");
  }
  const project::Project* chosen = nullptr;
  for (const auto& m : matching) {
    for (const auto& v : verified) {
      if (v.name == m.name) {
        chosen = &m;
        break;
      }
    }
    if (chosen != nullptr) break;
  }
  if (chosen == nullptr) {
    throw http::HttpError(401, "unauthenticated",
                          std::string(headers.signature) +
                              " does not match the webhook secret of project " +
                              matching.front().name);
  }
  const project::Project& project = *chosen;
  if (pushes->size() == 1) {
    return http::json_response(202,
                               request_build(project, first, provider, delivery, outcome).str());
  }
  // A push of several refs (Bitbucket): a build per ref, each under its own id derived from the
  // delivery's, so a redelivery finds every one of them again.
  json::Array builds;
  outcome = "ignored";
  for (std::size_t i = 0; i < pushes->size(); ++i) {
    std::string ref_outcome;
    json::Object build = request_build(project, (*pushes)[i], provider,
                                       delivery + "." + std::to_string(i), ref_outcome);
    builds.add(build.add("ref", (*pushes)[i].ref));
    // accepted > duplicate > ignored: the delivery's outcome is the most that came of it.
    if (ref_outcome == "accepted" || (ref_outcome == "duplicate" && outcome == "ignored")) {
      outcome = ref_outcome;
    }
  }
  return http::json_response(202, json::Object()
                                      .add("status", outcome == "ignored" ? "ignored" : "accepted")
                                      .add("project", project.name)
                                      .add("delivery_id", delivery)
                                      .add("builds", builds)
                                      .str());
}

json::Object WebhookRoutes::request_build(const project::Project& project, const PushEvent& push,
                                          Provider provider, const std::string& delivery,
                                          std::string& outcome) {
  const std::string provider_str(provider_name(provider));
  if (auto reason = ignore_reason(project, push)) {
    outcome = "ignored";
    log::info("webhook ignored", {{"provider", provider_str},
                                  {"delivery_id", delivery},
                                  {"project", project.name},
                                  {"ref", push.ref},
                                  {"reason", *reason}});
    json::Object answer;
    answer.add("status", "ignored").add("reason", *reason).add("project", project.name);
    return answer;
  }

  const std::string build_id = stable_id("webhook:" + provider_str + ":" + delivery);
  const auto request_event =
      webhook_request(project, push, provider, delivery, options_.default_registry);
  auto published =
      publisher_.requested(build_id, request_event, events::webhook_msg_id(provider_str, delivery));
  if (!published.ok()) http::throw_error(published.error());
  // Stored, not answered: the Git host sees no answer and delivers again (chaos suite).
  KILN_FAILPOINT("ingest.after_publish");
  outcome = published->duplicate ? "duplicate" : "accepted";
  log::info("build requested by webhook", {{"provider", provider_str},
                                           {"delivery_id", delivery},
                                           {"build_id", build_id},
                                           {"project", project.name},
                                           {"ref", push.ref},
                                           {"duplicate", published->duplicate}});
  json::Object answer;
  answer.add("build_id", build_id)
      .add("status", "accepted")
      .add("duplicate", published->duplicate)
      .add("project", project.name)
      .add("delivery_id", delivery)
      .add("links", json::Raw{build_links_json(build_id)});
  return answer;
}

}  // namespace kiln::webhook
