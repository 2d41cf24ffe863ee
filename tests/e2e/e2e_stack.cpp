#include "e2e/e2e_stack.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "common/ids.h"
#include "secrets/sealing_key.h"
#include "support/git_repo.h"

namespace kiln::e2e {
namespace {

std::string service_binary(const std::string& name) {
  return std::string(KILN_BINARY_DIR) + "/services/" + name + "/kiln-" + name;
}

bool terminal(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "cancelled";
}

}  // namespace

std::string str(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  return o && o->has(key) && !o->isNull(key) ? o->get(key).convert<std::string>() : "";
}

std::string dockerfile(const std::string& registry, const std::string& body) {
  return "FROM " + registry + "/kiln/busybox\n" + body;
}

std::string project_json(const std::string& name, const std::string& repo,
                         const std::string& extra) {
  return R"({"name":")" + name + R"(","repository_url":"file://)" + repo +
         R"(","repository_name":"e2e/)" + name +
         R"(","webhook_secret_ref":"env:E2E_WEBHOOK_SECRET","image_repository":"e2e/)" + name +
         R"(","branch_filters":["*"])" + extra + "}";
}

std::map<std::string, int> history_counts(const Poco::JSON::Object::Ptr& build) {
  std::map<std::string, int> counts;
  if (!build) return counts;
  if (auto history = build->getArray("history")) {
    for (std::size_t i = 0; i < history->size(); ++i) {
      ++counts[str(history->getObject(static_cast<unsigned>(i)), "event")];
    }
  }
  return counts;
}

Poco::JSON::Object::Ptr HttpReply::json() const {
  Poco::JSON::Parser parser;
  return parser.parse(body).extract<Poco::JSON::Object::Ptr>();
}

HttpReply http(const std::string& method, const std::string& url, const std::string& body,
               const std::vector<std::pair<std::string, std::string>>& headers) {
  Poco::URI uri(url);
  Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest request(method, uri.getPathAndQuery(), Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [k, v] : headers) request.set(k, v);
  if (!body.empty() || method == "POST" || method == "PUT") {
    request.setContentType("application/json");
    request.setContentLength64(static_cast<Poco::Int64>(body.size()));
  }
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  HttpReply reply;
  reply.status = response.getStatus();
  Poco::StreamCopier::copyToString(in, reply.body);
  return reply;
}

Stack::Stack(const StackOptions& options) : dir_(testing::make_temp_dir("kiln-e2e")) {
  const std::string buildah_root = std::string(KILN_BINARY_DIR) + "/test-buildah";
  testing::push_base_image(registry_.host(), buildah_root);
  const std::string tokens = std::string("admin:") + kAdminToken + ":*:admin";
  const std::string artifacts = dir_ + "/artifacts";
  std::filesystem::create_directories(artifacts);
  if (auto created = secrets::SealingKey::create(secrets_key_file()); !created.ok()) {
    throw std::runtime_error(created.error().describe());
  }
  const std::map<std::string, std::string> common = {{"KILN_NATS_URL", nats_.url()},
                                                     {"KILN_LOG_LEVEL", "debug"}};
  postgres_.enable_kiln_roles();
  auto env = [this, &common, &options](const std::string& service,
                                       std::map<std::string, std::string> extra) {
    extra.insert(common.begin(), common.end());
    extra["KILN_NATS_CREDENTIALS_FILE"] = nats_.credentials_file(service);
    if (auto it = options.env.find(service); it != options.env.end()) {
      for (const auto& [key, value] : it->second) extra[key] = value;
    }
    return extra;
  };
  analytics_ = std::make_unique<testing::ServiceProcess>(
      "analytics", service_binary("analytics"), testing::free_port(),
      env("analytics", {{"KILN_DATABASE_URL", postgres_.analytics_url()},
                        {"KILN_DATABASE_QUERY_URL", postgres_.query_url()},
                        {"KILN_MIGRATIONS_DIR", std::string(KILN_SOURCE_DIR) + "/migrations"},
                        {"KILN_API_TOKENS", tokens}}));
  scheduler_ = std::make_unique<testing::ServiceProcess>(
      "scheduler", service_binary("scheduler"), testing::free_port(),
      env("scheduler",
          {{"KILN_DISPATCH_GLOBAL_LIMIT", "3"}, {"KILN_REGISTRY_DEFAULT", registry_.host()}}));
  builder_ = std::make_unique<testing::ServiceProcess>(
      "builder", service_binary("builder"), testing::free_port(),
      // A fresh layer cache each run: the tests read RUN output, which a cached step never prints.
      env("builder", {{"KILN_BUILDAH_ROOT", dir_ + "/buildah"},
                      {"KILN_ARTIFACTS_DIR", artifacts},
                      {"KILN_WORK_DIR", dir_ + "/work"},
                      {"KILN_REGISTRY_INSECURE", registry_.host()},
                      {"KILN_STAGING_REGISTRY", registry_.host()},
                      {"KILN_BUILD_SLOTS", "2"},
                      {"KILN_SECRETS_KEY_FILE", secrets_key_file()}}));
  pusher_ = std::make_unique<testing::ServiceProcess>(
      "pusher", service_binary("pusher"), testing::free_port(),
      env("pusher", {{"KILN_STAGING_REGISTRY", registry_.host()},
                     {"KILN_REGISTRY_INSECURE", registry_.host()}}));
  ingest_ = std::make_unique<testing::ServiceProcess>(
      "webhook-ingest", service_binary("webhook-ingest"), testing::free_port(),
      env("webhook-ingest", {{"KILN_API_TOKENS", tokens},
                             {"KILN_REGISTRY_DEFAULT", registry_.host()},
                             {"KILN_SECRETS_KEY_FILE", secrets_key_file()},
                             {"E2E_WEBHOOK_SECRET", kWebhookSecret}}));
  for (auto* service :
       {analytics_.get(), scheduler_.get(), builder_.get(), pusher_.get(), ingest_.get()}) {
    if (!service->wait_ready(60000)) {
      throw std::runtime_error("a service did not become ready:\n" + logs());
    }
  }
}

Stack::~Stack() {
  for (auto* service :
       {ingest_.get(), pusher_.get(), builder_.get(), scheduler_.get(), analytics_.get()}) {
    if (service != nullptr) service->stop();
  }
  testing::remove_tree(dir_);
}

std::string Stack::logs() const {
  std::string out;
  for (const auto* service :
       {ingest_.get(), scheduler_.get(), builder_.get(), pusher_.get(), analytics_.get()}) {
    if (service == nullptr) continue;
    std::string log = service->log();
    if (log.size() > 8000) log = "..." + log.substr(log.size() - 8000);
    out += "----- " + service->url() + "\n" + log + "\n";
  }
  return out;
}

std::string Stack::cli() const { return std::string(KILN_BINARY_DIR) + "/cli/kiln"; }

std::string Stack::make_repo(const std::string& name, const std::string& dockerfile) {
  const std::string repo = dir_ + "/repos/" + name;
  testing::git_init(repo);
  testing::write_files(repo,
                       {{"Dockerfile", dockerfile}, {"hello.txt", "hello from " + name + "\n"}});
  commit(repo, "initial");
  return repo;
}

std::string Stack::commit(const std::string& repo, const std::string& message) {
  std::ofstream(repo + "/change.txt", std::ios::app) << message << "\n";
  return testing::git_commit_all(repo, message);
}

std::string Stack::create_branch(const std::string& repo, const std::string& branch) {
  testing::git(repo, "checkout -q -B " + branch);
  const std::string sha = commit(repo, "on " + branch);
  testing::git(repo, "checkout -q main");
  return sha;
}

void apply_project(const std::string& ingest_url, const std::string& json) {
  auto object = HttpReply{200, json}.json();
  const std::string name = object->getValue<std::string>("name");
  auto reply = http("PUT", ingest_url + "/v1/projects/" + name, json,
                    {{"Authorization", std::string("Bearer ") + kAdminToken}});
  if (reply.status != 200 && reply.status != 201) {
    throw std::runtime_error("project " + name + " not applied: " + std::to_string(reply.status) +
                             " " + reply.body);
  }
}

void Stack::apply_project(const std::string& json) { e2e::apply_project(ingest_url(), json); }

HttpReply Stack::push_webhook(const std::string& repo_full_name, const std::string& repo_url,
                              const std::string& ref, const std::string& sha,
                              const std::string& delivery_id) {
  return github_push(ingest_url(), kWebhookSecret, repo_full_name, repo_url, ref, sha, delivery_id);
}

HttpReply github_push(const std::string& ingest_url, const std::string& secret,
                      const std::string& repo_full_name, const std::string& repo_url,
                      const std::string& ref, const std::string& sha,
                      const std::string& delivery_id) {
  const std::string payload =
      R"({"ref":")" + ref + R"(","before":"0000000000000000000000000000000000000000","after":")" +
      sha + R"(","created":false,"deleted":false,"repository":{"full_name":")" + repo_full_name +
      R"(","clone_url":")" + repo_url + R"(","html_url":")" + repo_url +
      R"(","default_branch":"main"},"pusher":{"name":"e2e"},"sender":{"login":"e2e"},)" +
      R"("head_commit":{"id":")" + sha +
      R"(","message":"e2e change","author":{"name":"e2e"},"added":["change.txt"],"modified":[],"removed":[]},)" +
      R"("commits":[{"id":")" + sha +
      R"(","message":"e2e change","author":{"name":"e2e"},"added":["change.txt"],"modified":[],"removed":[]}]})";
  const std::string signature = "sha256=" + hmac_sha256_hex(secret, payload);
  return http("POST", ingest_url + "/hooks/github", payload,
              {{"X-GitHub-Event", "push"},
               {"X-GitHub-Delivery", delivery_id},
               {"X-Hub-Signature-256", signature}});
}

Poco::JSON::Object::Ptr Stack::build(const std::string& build_id) {
  auto reply = http("GET", analytics_url() + "/v1/builds/" + build_id, "",
                    {{"Authorization", std::string("Bearer ") + kAdminToken}});
  if (reply.status == 404) return nullptr;
  if (reply.status != 200) {
    throw std::runtime_error("GET build: " + std::to_string(reply.status) + " " + reply.body);
  }
  return reply.json();
}

Poco::JSON::Object::Ptr Stack::wait_status(const std::string& build_id, const std::string& status,
                                           int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  Poco::JSON::Object::Ptr last;
  while (std::chrono::steady_clock::now() < deadline) {
    last = build(build_id);
    if (last) {
      const std::string now = last->optValue<std::string>("status", "");
      if (now == status || (terminal(now) && !terminal(status))) return last;
      if (terminal(now)) return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return last;
}

Poco::JSON::Object::Ptr Stack::wait_finished(const std::string& build_id, int timeout_s) {
  return wait_status(build_id, "succeeded", timeout_s);
}

}  // namespace kiln::e2e
