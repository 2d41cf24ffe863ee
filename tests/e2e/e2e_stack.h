// The whole of kiln for end-to-end tests: real nats-server, PostgreSQL and docker-registry (with
// kiln's base image), and the five services as separate processes, started once for the suite.
// The control plane is closed as infra/stack.sh closes it: each service its own NATS user with
// only its subjects, analytics on PostgreSQL as kiln_analytics and its queries as kiln_query.
// The Git host is played by the tests: they create repositories and sign webhooks themselves.
#pragma once

#include <Poco/JSON/Object.h>

#include <map>
#include <memory>
#include <string>

#include "support/servers.h"

namespace kiln::e2e {

struct HttpReply {
  int status = 0;
  std::string body;
  Poco::JSON::Object::Ptr json() const;  // the body as an object (throws if it is not one)
};

HttpReply http(const std::string& method, const std::string& url, const std::string& body = "",
               const std::vector<std::pair<std::string, std::string>>& headers = {});

inline constexpr char kAdminToken[] = "e2e-admin-token";
inline constexpr char kWebhookSecret[] = "e2e-webhook-secret";

// Settings on top of the suite's defaults, per service ("builder", "scheduler", ...).
struct StackOptions {
  std::map<std::string, std::map<std::string, std::string>> env;
};

class Stack {
 public:
  explicit Stack(const StackOptions& options = {});
  ~Stack();

  std::string dir() const { return dir_; }
  // The secrets.key-file webhook-ingest and the builder share.
  std::string secrets_key_file() const { return dir_ + "/secrets.key"; }
  std::string nats_url() const { return nats_.url(); }
  // Connection options for the tests' own look at the log (as the operator).
  bus::BusOptions bus_options(const std::string& name) const { return nats_.bus_options(name); }
  std::string postgres_url() const { return postgres_.url(); }
  testing::NatsServer& nats() { return nats_; }
  testing::PostgresServer& postgres() { return postgres_; }
  testing::RegistryServer& registry_server() { return registry_; }
  testing::ServiceProcess& pusher() { return *pusher_; }
  testing::ServiceProcess& analytics() { return *analytics_; }
  std::string registry() const { return registry_.host(); }
  std::string ingest_url() const { return ingest_->url(); }
  std::string analytics_url() const { return analytics_->url(); }
  testing::ServiceProcess& builder() { return *builder_; }
  testing::ServiceProcess& scheduler() { return *scheduler_; }
  testing::ServiceProcess& ingest() { return *ingest_; }
  std::string logs() const;  // every service's log, for failure messages
  std::string cli() const;   // path of the kiln CLI

  // Creates a Git repository with `dockerfile` (and an app file) and returns its path.
  std::string make_repo(const std::string& name, const std::string& dockerfile);
  std::string commit(const std::string& repo, const std::string& message);  // returns the sha
  std::string create_branch(const std::string& repo, const std::string& branch);

  void apply_project(const std::string& json);
  // Posts a signed GitHub push webhook; returns the reply (202 with build_id when accepted).
  HttpReply push_webhook(const std::string& repo_full_name, const std::string& repo_url,
                         const std::string& ref, const std::string& sha,
                         const std::string& delivery_id);

  // Polls GET /v1/builds/{id} until its status is terminal; returns the build.
  Poco::JSON::Object::Ptr wait_finished(const std::string& build_id, int timeout_s = 180);
  Poco::JSON::Object::Ptr wait_status(const std::string& build_id, const std::string& status,
                                      int timeout_s = 120);
  Poco::JSON::Object::Ptr build(const std::string& build_id);

 private:
  std::string dir_;
  testing::NatsServer nats_{testing::WithKilnUsers{}};
  testing::PostgresServer postgres_;
  testing::RegistryServer registry_;
  std::unique_ptr<testing::ServiceProcess> analytics_, scheduler_, builder_, pusher_, ingest_;
};

// A signed GitHub push webhook to webhook-ingest at `ingest_url`, signed with `secret`.
HttpReply github_push(const std::string& ingest_url, const std::string& secret,
                      const std::string& repo_full_name, const std::string& repo_url,
                      const std::string& ref, const std::string& sha,
                      const std::string& delivery_id);
// PUT /v1/projects/{name} with the admin token; throws unless 200/201.
void apply_project(const std::string& ingest_url, const std::string& json);

// A field of a JSON object as a string; empty when absent or null.
std::string str(const Poco::JSON::Object::Ptr& o, const std::string& key);
// A Dockerfile on kiln's test base image in `registry`.
std::string dockerfile(const std::string& registry, const std::string& body);
// A project building `repo` (a local Git repository) on every branch, image e2e/<name>.
std::string project_json(const std::string& name, const std::string& repo,
                         const std::string& extra = "");
// How many times each event type appears in a build's status history (GET /v1/builds/{id}).
std::map<std::string, int> history_counts(const Poco::JSON::Object::Ptr& build);

// The suite's one Stack (created by the test environment in e2e_main).
Stack& stack();

}  // namespace kiln::e2e
