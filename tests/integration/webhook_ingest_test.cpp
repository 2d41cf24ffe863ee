// webhook-ingest against a real nats-server: the test plays the Git host (signing and posting
// real payload shapes over HTTP) and the API client, and reads the event log back.
#include <Poco/Base64Encoder.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "bus/bus.h"
#include "bus/consumer.h"
#include "bus/kv.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "events/envelope.h"
#include "events/subjects.h"
#include "secrets/build_secrets.h"
#include "support/servers.h"
#include "support/tar.h"
#include "webhook-ingest/ingest_service.h"

namespace kiln::webhook {
namespace {

using testing::tar_entry;

constexpr char kSecret[] = "It's a Secret to Everybody";
constexpr char kGitlabToken[] = "gitlab-token-123";
constexpr char kTokens[] =
    "admin:admin-secret-1:acme:admin,builder:build-secret-1:acme:build,"
    "reader:read-secret-1:acme:read,globex:globex-secret-1:globex:admin,"
    "root:root-secret-1:*:admin";

using Headers = std::map<std::string, std::string>;

struct Reply {
  int status = 0;
  std::string body;
  Poco::JSON::Object::Ptr json;

  std::string str(const std::string& key) const {
    return json && json->has(key) ? json->getValue<std::string>(key) : "";
  }
  std::string error_message() const {
    if (!json || !json->has("error")) return "";
    return json->getObject("error")->getValue<std::string>("message");
  }
};

Reply call(int port, const std::string& method, const std::string& path, const std::string& body,
           const Headers& headers = {}, std::int64_t declared_length = -1) {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  session.setTimeout(Poco::Timespan(20, 0));
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  request.setContentType("application/json");
  request.setContentLength64(declared_length >= 0 ? declared_length
                                                  : static_cast<Poco::Int64>(body.size()));
  for (const auto& [k, v] : headers) request.set(k, v);
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Reply reply;
  reply.status = response.getStatus();
  Poco::StreamCopier::copyToString(in, reply.body);
  try {
    Poco::JSON::Parser parser;
    auto v = parser.parse(reply.body);
    if (v.type() == typeid(Poco::JSON::Object::Ptr)) {
      reply.json = v.extract<Poco::JSON::Object::Ptr>();
    }
  } catch (const std::exception&) {
  }
  return reply;
}

std::string github_push(
    const std::string& ref, const std::string& after = std::string(40, 'a'),
    const std::string& commits =
        R"([{"id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","message":"Add x\n\nmore",
                                 "author":{"name":"Mona Lisa"},"added":["src/x.cpp"],"removed":[],"modified":[]}])",
    const std::string& full_name = "octo/hello") {
  return R"({"ref":")" + ref +
         R"(","before":"1111111111111111111111111111111111111111","after":")" + after +
         R"(","created":false,"deleted":false,"forced":false,
    "repository":{"id":1,"name":"hello","full_name":")" +
         full_name + R"(",
      "html_url":"https://github.com/)" +
         full_name + R"(",
      "clone_url":"https://github.com/)" +
         full_name + R"(.git",
      "ssh_url":"git@github.com:)" +
         full_name + R"(.git","default_branch":"main"},
    "pusher":{"name":"monalisa","email":"m@example.com"},"sender":{"login":"monalisa"},
    "commits":)" +
         commits + R"(,
    "head_commit":{"id":")" +
         after + R"(","message":"Add x\n\nmore","author":{"name":"Mona Lisa"}}})";
}

std::string gitlab_push(const std::string& ref) {
  return R"({"object_kind":"push","event_name":"push","before":"1111111111111111111111111111111111111111",
    "after":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","ref":")" +
         ref + R"(",
    "user_name":"John Smith","user_username":"jsmith",
    "project":{"id":15,"name":"hello","web_url":"https://github.com/octo/hello",
      "git_http_url":"https://github.com/octo/hello.git","git_ssh_url":"git@github.com:octo/hello.git",
      "path_with_namespace":"octo/hello","default_branch":"main"},
    "commits":[{"id":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","message":"fix","author":{"name":"J"},
      "added":[],"modified":["README.md"],"removed":[]}],"total_commits_count":1})";
}

std::string gitea_push(const std::string& ref) {
  return R"({"ref":")" + ref + R"(","before":"1111111111111111111111111111111111111111",
    "after":"cccccccccccccccccccccccccccccccccccccccc",
    "commits":[{"id":"cccccccccccccccccccccccccccccccccccccccc","message":"Webhooks Yay!",
      "author":{"name":"Gitea","username":"gitea"},"added":["a.txt"],"removed":[],"modified":[]}],
    "total_commits":1,
    "repository":{"id":140,"name":"hello","full_name":"octo/hello",
      "html_url":"https://github.com/octo/hello","clone_url":"https://github.com/octo/hello.git"},
    "pusher":{"login":"gitea","username":"gitea"},"sender":{"login":"gitea"}})";
}

// Bitbucket Cloud's repo:push: one change per ref pushed, a web link instead of clone URLs, no
// file lists.
std::string bitbucket_change(const std::string& type, const std::string& name,
                             const std::string& hash, bool created) {
  const std::string old_state =
      created
          ? "null"
          : R"({"type":")" + type + R"(","name":")" + name +
                R"(","target":{"type":"commit","hash":"1111111111111111111111111111111111111111"}})";
  return R"({"new":{"type":")" + type + R"(","name":")" + name +
         R"(","target":{"type":"commit","hash":")" + hash +
         R"(","message":"Ship it\n\nbody","author":{"raw":"Ann Lee <ann@example.com>",
         "user":{"display_name":"Ann Lee"}}}},"old":)" +
         old_state + R"(,"created":)" + (created ? "true" : "false") +
         R"(,"forced":false,"closed":false,"truncated":false,"commits":[{"hash":")" + hash +
         R"(","message":"Ship it"}]})";
}

std::string bitbucket_push(const std::vector<std::string>& changes) {
  std::string list;
  for (const auto& change : changes) list += (list.empty() ? "" : ",") + change;
  return R"({"actor":{"display_name":"Ann Lee","nickname":"ann"},
    "repository":{"type":"repository","full_name":"octo/hello","name":"hello",
      "links":{"html":{"href":"https://bitbucket.org/octo/hello"}}},
    "push":{"changes":[)" +
         list + "]}}";
}

Headers bitbucket_headers(const std::string& body, const std::string& delivery,
                          const std::string& event = "repo:push",
                          const std::string& secret = kSecret) {
  return {{"X-Event-Key", event},
          {"X-Request-UUID", delivery},
          {"X-Hub-Signature", "sha256=" + hmac_sha256_hex(secret, body)}};
}

Headers github_headers(const std::string& body, const std::string& delivery,
                       const std::string& event = "push", const std::string& secret = kSecret) {
  return {{"X-GitHub-Event", event},
          {"X-GitHub-Delivery", delivery},
          {"X-Hub-Signature-256", "sha256=" + hmac_sha256_hex(secret, body)}};
}

std::string base64(const std::string& data) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);
  encoder << data;
  encoder.close();
  return out.str();
}

class WebhookIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("WH_TEST_SECRET", kSecret, 1);
    ::setenv("WH_TEST_GITLAB_TOKEN", kGitlabToken, 1);
    auto connected = bus::Bus::connect(bus::BusOptions{.url = nats_.url(), .name = "wh-test"});
    ASSERT_TRUE(connected.ok()) << connected.error().describe();
    bus_ = std::move(connected.value());
    ASSERT_TRUE(bus::provision(*bus_).ok());
    start_service();
    put_project("demo", R"({"tenant":"acme","repository_url":"https://github.com/octo/hello.git",
      "repository_name":"octo/hello","webhook_secret_ref":"env:WH_TEST_SECRET",
      "branch_filters":["main","release/*"],"tag_filters":["v*"],"image_repository":"octo/hello"})");
  }

  void start_service(std::size_t upload_max_bytes = 256u << 20) {
    IngestOptions options;
    options.upload_max_bytes = upload_max_bytes;
    options.api_tokens = kTokens;
    options.default_registry = "127.0.0.1:5000";
    options.publish_timeout_ms = 2000;
    options.common.instance = "webhook-ingest/test";
    options.common.http.port = 0;
    options.secrets_key_file = secrets_key_file_;
    options.tenant_image_prefixes = image_prefixes_;
    options.hook_max_secrets_tried = max_secrets_tried_;
    options.secrets_dir = secrets_dir_;
    // The projects here name env: secrets: their tenant is listed by the operator.
    options.server_secret_tenants = {"acme"};
    service_ = std::make_unique<IngestService>(options, *bus_);
    service_->start();
  }

  void put_project(const std::string& name, const std::string& body) {
    auto reply = call(service_->port(), "PUT", "/v1/projects/" + name, body, admin());
    ASSERT_TRUE(reply.status == 200 || reply.status == 201) << reply.status << " " << reply.body;
  }

  static Headers token(const std::string& secret) {
    return {{"Authorization", "Bearer " + secret}};
  }
  static Headers admin() { return token("admin-secret-1"); }
  static Headers builder() { return token("build-secret-1"); }

  Reply post_github(const std::string& body, const std::string& delivery) {
    return call(service_->port(), "POST", "/hooks/github", body, github_headers(body, delivery));
  }

  Headers upload_headers() {
    Headers headers = builder();
    headers["Content-Type"] = "application/x-tar";
    return headers;
  }

  // True when KILN_UPLOADS still holds an upload chunk stored after `sequence`.
  bool upload_chunk_stored_after(std::uint64_t sequence) {
    auto reader = bus::SubjectReader::open(*bus_, bus::kUploadsStream, "kiln.upload.>",
                                           bus::SubjectReader::Start::kSequence, sequence + 1);
    EXPECT_TRUE(reader.ok()) << reader.error().describe();
    if (!reader.ok()) return true;
    auto left = (*reader)->next(1000);
    EXPECT_TRUE(left.ok()) << left.error().describe();
    return !left.ok() || left->has_value();
  }

  std::uint64_t events_stored() {
    auto seq = bus::last_stream_sequence(*bus_, bus::kEventsStream);
    EXPECT_TRUE(seq.ok());
    return seq.ok() ? *seq : 0;
  }

  std::optional<events::v1::Envelope> last_event(const std::string& type,
                                                 const std::string& build_id) {
    auto msg = bus::last_message(*bus_, bus::kEventsStream, events::build_subject(type, build_id));
    EXPECT_TRUE(msg.ok());
    if (!msg.ok() || !msg.value()) return std::nullopt;
    auto envelope = events::decode(msg.value()->data());
    EXPECT_TRUE(envelope.ok());
    return envelope.value();
  }

  testing::NatsServer nats_;
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<IngestService> service_;
  std::string secrets_key_file_;             // empty: the service takes no build secrets
  std::vector<std::string> image_prefixes_;  // tenants.image-prefixes
  int max_secrets_tried_ = 16;               // webhook.max-secrets-tried
  std::string secrets_dir_;                  // secrets.dir
};

TEST_F(WebhookIngestTest, GithubPushIsPublishedBeforeTheAnswer) {
  const auto before = events_stored();
  auto reply = post_github(github_push("refs/heads/main"), "delivery-1");
  ASSERT_EQ(reply.status, 202) << reply.body;
  EXPECT_EQ(reply.str("status"), "accepted");
  const std::string build_id = reply.str("build_id");
  EXPECT_EQ(build_id, stable_id("webhook:github:delivery-1"));
  EXPECT_FALSE(reply.json->getValue<bool>("duplicate"));
  EXPECT_EQ(reply.json->getObject("links")->getValue<std::string>("status"),
            "/v1/builds/" + build_id);
  EXPECT_EQ(events_stored(), before + 1);

  auto event = last_event("requested", build_id);
  ASSERT_TRUE(event);
  const auto& r = event->requested();
  EXPECT_EQ(r.project(), "demo");
  EXPECT_EQ(r.tenant(), "acme");
  EXPECT_EQ(r.trigger().kind(), events::v1::Trigger::WEBHOOK);
  EXPECT_EQ(r.trigger().provider(), "github");
  EXPECT_EQ(r.trigger().delivery_id(), "delivery-1");
  EXPECT_EQ(r.trigger().actor(), "monalisa");
  EXPECT_EQ(r.git().repo_url(), "https://github.com/octo/hello.git");
  EXPECT_EQ(r.git().ref(), "refs/heads/main");
  EXPECT_EQ(r.git().commit(), std::string(40, 'a'));
  EXPECT_EQ(r.git().author(), "Mona Lisa");
  EXPECT_EQ(r.git().message(), "Add x");
  EXPECT_TRUE(r.git().default_branch());
  EXPECT_EQ(r.spec().registry(), "127.0.0.1:5000");
  EXPECT_EQ(r.spec().image_repository(), "octo/hello");
  EXPECT_EQ(std::vector<std::string>(r.spec().tags().begin(), r.spec().tags().end()),
            (std::vector<std::string>{"main", "latest", "sha-aaaaaaa"}));

  auto metrics = call(service_->port(), "GET", "/metrics", "");
  EXPECT_NE(
      metrics.body.find("kiln_webhook_requests_total{provider=\"github\",outcome=\"accepted\"} 1"),
      std::string::npos)
      << metrics.body;
  EXPECT_EQ(call(service_->port(), "GET", "/readyz", "").status, 200);
}

// /hooks/<provider>/<project> checks that project's secret alone; the shared URL tries the
// projects the body names first and never more than webhook.max-secrets-tried.
TEST_F(WebhookIngestTest, PerProjectUrlChecksOneSecretTheSharedUrlABoundedFew) {
  const std::string body = github_push("refs/heads/main");
  auto named = call(service_->port(), "POST", "/hooks/github/demo", body,
                    github_headers(body, "per-project-1"));
  ASSERT_EQ(named.status, 202) << named.body;
  EXPECT_EQ(named.str("project"), "demo");
  EXPECT_EQ(call(service_->port(), "POST", "/hooks/github/nope", body,
                 github_headers(body, "per-project-2"))
                .status,
            404);
  EXPECT_EQ(call(service_->port(), "POST", "/hooks/github/demo", body,
                 github_headers(body, "per-project-3", "push", "wrong secret"))
                .status,
            401);

  ::setenv("WH_TEST_DECOY_SECRET", "decoy secret", 1);
  put_project("aaa-decoy", R"({"tenant":"acme","repository_url":"https://example.com/x/y.git",
    "webhook_secret_ref":"env:WH_TEST_DECOY_SECRET","image_repository":"x/y"})");
  max_secrets_tried_ = 1;
  service_.reset();
  start_service();
  // aaa-decoy comes first by name, but the body names octo/hello: demo is the one tried.
  auto shared = post_github(github_push("refs/heads/main"), "shared-1");
  EXPECT_EQ(shared.status, 202) << shared.body;
  std::string unnamed = github_push("refs/heads/main");
  for (auto at = unnamed.find("octo/hello"); at != std::string::npos;
       at = unnamed.find("octo/hello")) {
    unnamed.replace(at, 10, "octo/other");
  }
  auto bounded =
      call(service_->port(), "POST", "/hooks/github", unnamed, github_headers(unnamed, "shared-2"));
  EXPECT_EQ(bounded.status, 401) << bounded.body;
  EXPECT_NE(bounded.body.find("webhook.max-secrets-tried"), std::string::npos) << bounded.body;
}

TEST_F(WebhookIngestTest, PingAnswersWithoutABuild) {
  const auto before = events_stored();
  const std::string body = R"({"zen":"Keep it logically awesome.","hook_id":1,
    "repository":{"full_name":"octo/hello"}})";
  auto reply =
      call(service_->port(), "POST", "/hooks/github", body, github_headers(body, "ping-1", "ping"));
  EXPECT_EQ(reply.status, 200) << reply.body;
  auto other = call(service_->port(), "POST", "/hooks/github", body,
                    github_headers(body, "issue-1", "issues"));
  EXPECT_EQ(other.status, 202) << other.body;
  EXPECT_EQ(other.str("status"), "ignored");
  EXPECT_EQ(events_stored(), before);
}

TEST_F(WebhookIngestTest, GithubSignatureMatrix) {
  const std::string body = github_push("refs/heads/main");
  const auto before = events_stored();
  const int port = service_->port();
  auto with = [&](Headers h) { return call(port, "POST", "/hooks/github", body, h); };
  Headers base{{"X-GitHub-Event", "push"}, {"X-GitHub-Delivery", "sig-1"}};

  Headers wrong = base;
  wrong["X-Hub-Signature-256"] = "sha256=" + hmac_sha256_hex("wrong secret", body);
  EXPECT_EQ(with(wrong).status, 401);
  auto missing = with(base);
  EXPECT_EQ(missing.status, 401);
  EXPECT_NE(missing.error_message().find("X-Hub-Signature-256"), std::string::npos);
  Headers sha1 = base;
  sha1["X-Hub-Signature"] = "sha1=0123456789abcdef0123456789abcdef01234567";
  auto sha1_reply = with(sha1);
  EXPECT_EQ(sha1_reply.status, 401);
  EXPECT_NE(sha1_reply.error_message().find("SHA1"), std::string::npos) << sha1_reply.body;
  Headers bad_hex = base;
  bad_hex["X-Hub-Signature-256"] = "sha256=xyz" + hmac_sha256_hex(kSecret, body).substr(3);
  EXPECT_EQ(with(bad_hex).status, 401);
  // The host signs the bytes it sends; a signature over the same JSON re-serialised differs.
  Poco::JSON::Parser parser;
  std::ostringstream reserialised;
  parser.parse(body).extract<Poco::JSON::Object::Ptr>()->stringify(reserialised);
  ASSERT_NE(reserialised.str(), body);
  Headers resigned = base;
  resigned["X-Hub-Signature-256"] = "sha256=" + hmac_sha256_hex(kSecret, reserialised.str());
  EXPECT_EQ(with(resigned).status, 401);
  EXPECT_EQ(events_stored(), before) << "nothing unauthenticated is published";

  Headers good = base;
  good["X-Hub-Signature-256"] = "sha256=" + hmac_sha256_hex(kSecret, body);
  EXPECT_EQ(with(good).status, 202);
  EXPECT_EQ(events_stored(), before + 1);
}

TEST_F(WebhookIngestTest, GitlabAndGiteaSignatureMatrix) {
  put_project("demo", R"({"tenant":"acme","repository_url":"https://github.com/octo/hello.git",
    "webhook_secret_ref":"env:WH_TEST_GITLAB_TOKEN","image_repository":"octo/hello"})");
  const int port = service_->port();
  const auto before = events_stored();
  const std::string gl = gitlab_push("refs/heads/main");
  Headers gl_base{{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Event-UUID", "gl-1"}};
  Headers gl_wrong = gl_base;
  gl_wrong["X-Gitlab-Token"] = "not-the-token";
  EXPECT_EQ(call(port, "POST", "/hooks/gitlab", gl, gl_wrong).status, 401);
  EXPECT_EQ(call(port, "POST", "/hooks/gitlab", gl, gl_base).status, 401);
  Headers gl_hmac = gl_base;  // an HMAC is not what GitLab sends
  gl_hmac["X-Gitlab-Token"] = hmac_sha256_hex(kGitlabToken, gl);
  EXPECT_EQ(call(port, "POST", "/hooks/gitlab", gl, gl_hmac).status, 401);
  Headers gl_good = gl_base;
  gl_good["X-Gitlab-Token"] = kGitlabToken;
  auto accepted = call(port, "POST", "/hooks/gitlab", gl, gl_good);
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  EXPECT_EQ(accepted.str("build_id"), stable_id("webhook:gitlab:gl-1"));
  auto event = last_event("requested", accepted.str("build_id"));
  ASSERT_TRUE(event);
  EXPECT_EQ(event->requested().trigger().actor(), "jsmith");
  Headers gl_idem{{"X-Gitlab-Event", "Push Hook"},
                  {"Idempotency-Key", "gl-2"},
                  {"X-Gitlab-Token", kGitlabToken}};
  EXPECT_EQ(call(port, "POST", "/hooks/gitlab", gl, gl_idem).str("build_id"),
            stable_id("webhook:gitlab:gl-2"));
  EXPECT_EQ(events_stored(), before + 2);

  const std::string gt = gitea_push("refs/heads/main");
  Headers gt_base{{"X-Gitea-Event", "push"}, {"X-Gitea-Delivery", "gt-1"}};
  auto gitea = [&](const std::string& signature) {
    Headers h = gt_base;
    if (!signature.empty()) h["X-Gitea-Signature"] = signature;
    return call(port, "POST", "/hooks/gitea", gt, h).status;
  };
  EXPECT_EQ(gitea(hmac_sha256_hex("wrong", gt)), 401);
  EXPECT_EQ(gitea(""), 401);
  EXPECT_EQ(gitea("sha256=" + hmac_sha256_hex(kGitlabToken, gt)), 401);
  EXPECT_EQ(gitea("zz" + hmac_sha256_hex(kGitlabToken, gt).substr(2)), 401);
  EXPECT_EQ(events_stored(), before + 2);
  EXPECT_EQ(gitea(hmac_sha256_hex(kGitlabToken, gt)), 202);
  EXPECT_EQ(events_stored(), before + 3);
  // The endpoint, not the headers, chooses the provider.
  Headers github_style = github_headers(gt, "gt-2", "push", kGitlabToken);
  EXPECT_EQ(call(port, "POST", "/hooks/gitea", gt, github_style).status, 401);
}

TEST_F(WebhookIngestTest, BitbucketBuildsEveryChangedRefOnceAlsoWhenRedelivered) {
  const int port = service_->port();
  const auto before = events_stored();
  const std::string aaa(40, 'a');
  const std::string body =
      bitbucket_push({bitbucket_change("branch", "main", aaa, false),
                      bitbucket_change("tag", "v1.0", std::string(40, 'b'), true),
                      bitbucket_change("branch", "feature", aaa, false)});
  auto status_of = [&](const Headers& headers) {
    return call(port, "POST", "/hooks/bitbucket", body, headers).status;
  };
  EXPECT_EQ(status_of(bitbucket_headers(body, "bb-1", "repo:push", "wrong")), 401);
  Headers unsigned_headers = bitbucket_headers(body, "bb-1");
  unsigned_headers.erase("X-Hub-Signature");
  EXPECT_EQ(status_of(unsigned_headers), 401);
  EXPECT_EQ(events_stored(), before);

  auto accepted = call(port, "POST", "/hooks/bitbucket", body, bitbucket_headers(body, "bb-1"));
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  EXPECT_EQ(accepted.str("status"), "accepted");
  auto builds = accepted.json->getArray("builds");
  ASSERT_EQ(builds->size(), 3U) << accepted.body;
  EXPECT_EQ(builds->getObject(0)->getValue<std::string>("build_id"),
            stable_id("webhook:bitbucket:bb-1.0"));
  EXPECT_EQ(builds->getObject(1)->getValue<std::string>("ref"), "refs/tags/v1.0");
  EXPECT_EQ(builds->getObject(2)->getValue<std::string>("status"), "ignored");
  EXPECT_EQ(events_stored(), before + 2) << "main and v1.0; feature is filtered out";

  auto event = last_event("requested", stable_id("webhook:bitbucket:bb-1.0"));
  ASSERT_TRUE(event);
  EXPECT_EQ(event->requested().git().ref(), "refs/heads/main");
  EXPECT_EQ(event->requested().git().commit(), aaa);
  EXPECT_EQ(event->requested().git().author(), "Ann Lee");
  EXPECT_EQ(event->requested().git().message(), "Ship it");
  EXPECT_EQ(event->requested().trigger().actor(), "ann");
  EXPECT_EQ(event->requested().trigger().provider(), "bitbucket");

  auto again = call(port, "POST", "/hooks/bitbucket", body, bitbucket_headers(body, "bb-1"));
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_TRUE(again.json->getArray("builds")->getObject(0)->getValue<bool>("duplicate"));
  EXPECT_EQ(events_stored(), before + 2);

  // One ref: the answer every provider gives.
  const std::string single = bitbucket_push({bitbucket_change("branch", "main", aaa, false)});
  auto one = call(port, "POST", "/hooks/bitbucket/demo", single, bitbucket_headers(single, "bb-2"));
  ASSERT_EQ(one.status, 202) << one.body;
  EXPECT_EQ(one.str("build_id"), stable_id("webhook:bitbucket:bb-2"));
  auto fork = call(port, "POST", "/hooks/bitbucket", single,
                   bitbucket_headers(single, "bb-3", "repo:fork"));
  EXPECT_EQ(fork.status, 202);
  EXPECT_EQ(fork.str("status"), "ignored");
  EXPECT_EQ(events_stored(), before + 3);
}

TEST_F(WebhookIngestTest, RedeliveryIsOneEventAlsoAfterARestart) {
  const std::string body = github_push("refs/heads/main");
  auto first = post_github(body, "redelivered");
  ASSERT_EQ(first.status, 202) << first.body;
  const auto stored = events_stored();
  auto second = post_github(body, "redelivered");
  ASSERT_EQ(second.status, 202) << second.body;
  EXPECT_EQ(second.str("build_id"), first.str("build_id"));
  EXPECT_TRUE(second.json->getValue<bool>("duplicate"));
  EXPECT_EQ(events_stored(), stored);

  service_.reset();
  start_service();
  auto third = post_github(body, "redelivered");
  ASSERT_EQ(third.status, 202) << third.body;
  EXPECT_EQ(third.str("build_id"), first.str("build_id"));
  EXPECT_TRUE(third.json->getValue<bool>("duplicate"));

  nats_.stop();
  nats_.restart();
  Reply fourth;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  do {
    fourth = post_github(body, "redelivered");
    if (fourth.status == 202) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(fourth.status, 202) << fourth.body;
  EXPECT_EQ(fourth.str("build_id"), first.str("build_id"));
  EXPECT_EQ(events_stored(), stored);
}

TEST_F(WebhookIngestTest, NatsDownIs503ThenSuccessWhenItReturns) {
  const std::string body = github_push("refs/heads/main");
  nats_.stop();
  const auto started = std::chrono::steady_clock::now();
  auto down = post_github(body, "while-down");
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_EQ(call(service_->port(), "GET", "/readyz", "").status, 503);
  auto metrics = call(service_->port(), "GET", "/metrics", "");
  EXPECT_NE(metrics.body.find("outcome=\"unavailable\""), std::string::npos);

  nats_.restart();
  Reply up;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  do {
    up = post_github(body, "while-down");
    if (up.status == 202) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(up.status, 202) << up.body;
  EXPECT_TRUE(last_event("requested", up.str("build_id")));
}

TEST_F(WebhookIngestTest, ARefusedUploadLeavesNoChunkBehind) {
  const int port = service_->port();
  const Headers headers = upload_headers();
  auto before = bus::last_stream_sequence(*bus_, bus::kUploadsStream);
  ASSERT_TRUE(before.ok());
  // 1.5 MiB of file first (chunks are stored as the body streams in), then an entry that escapes.
  const std::string body = tar_entry("big.bin", '0', std::string(1536 * 1024, 'x')) +
                           tar_entry("../escape", '0', "x") + std::string(1024, '\0');
  auto refused = call(port, "POST", "/v1/uploads", body, headers);
  EXPECT_EQ(refused.status, 422) << refused.body;
  auto after = bus::last_stream_sequence(*bus_, bus::kUploadsStream);
  ASSERT_TRUE(after.ok());
  EXPECT_GT(*after, *before) << "the first chunks were stored while the upload streamed";
  EXPECT_FALSE(upload_chunk_stored_after(*before))
      << "a chunk of the refused upload is still stored";
}

TEST_F(WebhookIngestTest, AFullUploadStoreAnswers507AndKeepsNothingOfTheUpload) {
  bus::TopologyOptions small;
  small.uploads_max_bytes = 2 << 20;
  ASSERT_TRUE(bus::provision(*bus_, small).ok());
  const Headers headers = upload_headers();
  auto before = bus::last_stream_sequence(*bus_, bus::kUploadsStream);
  ASSERT_TRUE(before.ok());
  const std::string body =
      tar_entry("big.bin", '0', std::string(3 << 20, 'x')) + std::string(1024, '\0');
  auto full = call(service_->port(), "POST", "/v1/uploads", body, headers);
  EXPECT_EQ(full.status, 507) << full.body;
  EXPECT_NE(full.body.find("uploads_full"), std::string::npos) << full.body;
  EXPECT_FALSE(upload_chunk_stored_after(*before))
      << "a chunk of the refused upload is still stored";
  auto metrics = call(service_->port(), "GET", "/metrics", "");
  EXPECT_NE(metrics.body.find("kiln_webhook_uploads_refused_total{reason=\"uploads_full\"} 1"),
            std::string::npos)
      << metrics.body;
}

TEST_F(WebhookIngestTest, LimitsAndBadInput) {
  const int port = service_->port();
  const auto before = events_stored();
  // Declares 26 MiB and sends a little: refused on the declared length, nothing buffered.
  auto huge =
      call(port, "POST", "/hooks/github", "{}", github_headers("{}", "big"), 26LL * 1024 * 1024);
  EXPECT_EQ(huge.status, 413) << huge.body;

  const std::string malformed = "{\"ref\": \"refs/heads/main\",";
  EXPECT_EQ(post_github(malformed, "bad-json").status, 400);
  auto missing =
      post_github(R"({"after":"abc","repository":{"full_name":"octo/hello"}})", "no-ref");
  EXPECT_EQ(missing.status, 422);
  EXPECT_EQ(missing.error_message().rfind("ref:", 0), 0u) << missing.body;
  auto unknown = post_github(
      github_push("refs/heads/main", std::string(40, 'a'), "[]", "octo/nope"), "unknown-repo");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.error_message().find("octo/nope"), std::string::npos) << unknown.body;
  EXPECT_EQ(events_stored(), before);
}

TEST_F(WebhookIngestTest, FiltersIgnoreWithAReason) {
  put_project("docs", R"({"tenant":"acme","repository_url":"https://github.com/octo/docs.git",
    "webhook_secret_ref":"env:WH_TEST_SECRET","path_filters":["src/**"]})");
  const auto before = events_stored();
  auto expect_ignored = [&](const std::string& body, const std::string& delivery,
                            const std::string& reason_part) {
    auto reply = post_github(body, delivery);
    EXPECT_EQ(reply.status, 202) << reply.body;
    EXPECT_EQ(reply.str("status"), "ignored") << reply.body;
    EXPECT_NE(reply.str("reason").find(reason_part), std::string::npos) << reply.body;
  };
  expect_ignored(github_push("refs/heads/feature/x"), "f1", "branch filters");
  expect_ignored(github_push("refs/tags/nightly", std::string(40, 'a'), "[]"), "f2", "tag filters");
  expect_ignored(github_push("refs/heads/main", std::string(40, '0'), "[]"), "f3", "deleted");
  expect_ignored(github_push("refs/heads/main", std::string(40, 'a'), "[]"), "f4", "no commits");
  const std::string docs_only =
      R"([{"id":"a","message":"m","author":{"name":"x"},"added":["README.md"],"removed":[],"modified":[]}])";
  expect_ignored(github_push("refs/heads/main", std::string(40, 'a'), docs_only, "octo/docs"), "f5",
                 "path filters");
  EXPECT_EQ(events_stored(), before) << "ignored pushes publish nothing";

  auto tag = post_github(github_push("refs/tags/v1.2.3", std::string(40, 'd'), "[]"), "t1");
  ASSERT_EQ(tag.status, 202) << tag.body;
  EXPECT_EQ(tag.str("status"), "accepted");
  auto event = last_event("requested", tag.str("build_id"));
  ASSERT_TRUE(event);
  EXPECT_EQ(std::vector<std::string>(event->requested().spec().tags().begin(),
                                     event->requested().spec().tags().end()),
            (std::vector<std::string>{"v1.2.3", "sha-ddddddd"}));
  EXPECT_FALSE(event->requested().git().default_branch());
  auto release = post_github(github_push("refs/heads/release/2.0"), "r1");
  ASSERT_EQ(release.status, 202);
  auto release_event = last_event("requested", release.str("build_id"));
  ASSERT_TRUE(release_event);
  EXPECT_EQ(release_event->requested().spec().tags(0), "release-2.0");
}

TEST_F(WebhookIngestTest, ApiAuthMatrix) {
  const int port = service_->port();
  const std::string build = R"({"project":"demo"})";
  EXPECT_EQ(call(port, "GET", "/v1/projects", "").status, 401);
  EXPECT_EQ(call(port, "POST", "/v1/builds", build).status, 401);
  EXPECT_EQ(call(port, "POST", "/v1/builds", build, token("not-a-token-at-all")).status, 401);
  EXPECT_EQ(call(port, "POST", "/v1/builds", build, token("read-secret-1")).status, 403);
  EXPECT_EQ(call(port, "POST", "/v1/builds", build, token("globex-secret-1")).status, 403);
  EXPECT_EQ(call(port, "GET", "/v1/projects/demo", "", token("globex-secret-1")).status, 403);
  EXPECT_EQ(
      call(port, "PUT", "/v1/projects/demo", R"({"repository_url":"https://x/y.git"})", builder())
          .status,
      403);
  EXPECT_EQ(call(port, "GET", "/v1/projects/demo", "", token("read-secret-1")).status, 200);
  EXPECT_EQ(call(port, "POST", "/v1/builds", build, token("root-secret-1")).status, 202);
  auto globex_list = call(port, "GET", "/v1/projects", "", token("globex-secret-1"));
  ASSERT_EQ(globex_list.status, 200);
  EXPECT_EQ(globex_list.json->getArray("projects")->size(), 0u);
}

TEST_F(WebhookIngestTest, ProjectApiValidatesAndHidesTheSecret) {
  const int port = service_->port();
  auto got = call(port, "GET", "/v1/projects/demo", "", admin());
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body.find("WH_TEST_SECRET"), std::string::npos) << got.body;
  EXPECT_TRUE(got.json->getValue<bool>("webhook_secret_set"));

  auto invalid = [&](const std::string& body, const std::string& field) {
    auto reply = call(port, "PUT", "/v1/projects/bad", body, admin());
    EXPECT_EQ(reply.status, 422) << body;
    EXPECT_EQ(reply.error_message().rfind(field, 0), 0u) << reply.body;
  };
  invalid(R"({"tenant":"acme","repository_url":"https://x/y.git","image_repository":"Bad Name"})",
          "image_repository");
  invalid(R"({"tenant":"acme","repository_url":"https://x/y.git",
    "schedules":[{"cron":"61 * * * *"}]})",
          "schedules[0].cron");
  invalid(R"({"tenant":"acme","repository_url":"https://x/y.git","registry":"bad host!"})",
          "registry");
  invalid(R"({"tenant":"acme","repository_url":"https://x/y.git","branch_filters":["[a"]})",
          "branch_filters[0]");
  invalid(R"({"name":"other","tenant":"acme","repository_url":"https://x/y.git"})", "name");
  invalid(R"({"tenant":"acme"})", "repository_url");
  invalid(R"({"tenant":"acme","repository_url":"https://x/y.git","webhook_secret_ref":"plain"})",
          "webhook_secret_ref");
  EXPECT_EQ(call(port, "PUT", "/v1/projects/bad", "{nope", admin()).status, 400);
  EXPECT_EQ(call(port, "PUT", "/v1/projects/bad",
                 R"({"tenant":"globex","repository_url":"https://x/y.git"})", admin())
                .status,
            403);
  EXPECT_EQ(call(port, "GET", "/v1/projects/bad", "", admin()).status, 404);

  auto created = call(port, "PUT", "/v1/projects/second",
                      R"({"tenant":"acme","repository_url":"https://x/second.git"})", admin());
  EXPECT_EQ(created.status, 201) << created.body;
  auto list = call(port, "GET", "/v1/projects", "", token("read-secret-1"));
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json->getArray("projects")->size(), 2u);
  EXPECT_EQ(call(port, "DELETE", "/v1/projects/second", "", admin()).status, 200);
  EXPECT_EQ(call(port, "GET", "/v1/projects/second", "", admin()).status, 404);
  EXPECT_EQ(call(port, "DELETE", "/v1/projects/second", "", admin()).status, 404);
}

TEST_F(WebhookIngestTest, ManualBuildCancelAndRetry) {
  const int port = service_->port();
  auto reply = call(port, "POST", "/v1/builds",
                    R"({"project":"demo","ref":"refs/heads/release/1.0","build_args":{"A":"1"},
                        "tags":["custom"],"no_cache":true,"priority":5})",
                    builder());
  ASSERT_EQ(reply.status, 202) << reply.body;
  const std::string id = reply.str("build_id");
  EXPECT_EQ(reply.json->getObject("links")->getValue<std::string>("stream"),
            "/v1/builds/" + id + "/stream");
  auto event = last_event("requested", id);
  ASSERT_TRUE(event);
  const auto& r = event->requested();
  EXPECT_EQ(r.trigger().kind(), events::v1::Trigger::MANUAL);
  EXPECT_EQ(r.trigger().actor(), "builder");
  EXPECT_EQ(r.git().ref(), "refs/heads/release/1.0");
  EXPECT_EQ(r.spec().build_args().at("A"), "1");
  EXPECT_EQ(r.spec().tags(0), "custom");
  EXPECT_TRUE(r.spec().no_cache());
  EXPECT_EQ(r.spec().priority(), 5);

  auto bad =
      call(port, "POST", "/v1/builds", R"({"project":"demo","tags":["bad tag"]})", builder());
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(bad.error_message().rfind("tags[0]", 0), 0u) << bad.body;
  auto typo = call(port, "POST", "/v1/builds", R"({"project":"demo","reff":"x"})", builder());
  EXPECT_EQ(typo.status, 422);
  EXPECT_EQ(typo.error_message().rfind("reff", 0), 0u) << typo.body;
  EXPECT_EQ(call(port, "POST", "/v1/builds", R"({"ref":"main"})", builder()).status, 422);
  EXPECT_EQ(call(port, "POST", "/v1/builds", R"({"project":"nope"})", builder()).status, 404);
  EXPECT_EQ(
      call(port, "POST", "/v1/builds", R"({"project":"demo","registry":"evil.example"})", builder())
          .status,
      422);

  Headers idem = builder();
  idem["Idempotency-Key"] = "key-1";
  auto once = call(port, "POST", "/v1/builds", R"({"project":"demo"})", idem);
  auto twice = call(port, "POST", "/v1/builds", R"({"project":"demo"})", idem);
  ASSERT_EQ(once.status, 202);
  EXPECT_EQ(once.str("build_id"), twice.str("build_id"));
  EXPECT_TRUE(twice.json->getValue<bool>("duplicate"));

  const auto before_cancel = events_stored();
  auto cancel = call(port, "DELETE", "/v1/builds/" + id, "", builder());
  ASSERT_EQ(cancel.status, 202) << cancel.body;
  auto cancel_event = last_event("cancel_requested", id);
  ASSERT_TRUE(cancel_event);
  EXPECT_EQ(cancel_event->cancel_requested().by(), "builder");
  EXPECT_EQ(call(port, "DELETE", "/v1/builds/" + id, "", builder()).status, 202);
  EXPECT_EQ(events_stored(), before_cancel + 1) << "a repeated cancel is one event";
  EXPECT_EQ(call(port, "DELETE", "/v1/builds/" + id, "", token("globex-secret-1")).status, 403);
  EXPECT_EQ(call(port, "DELETE", "/v1/builds/no-such-build", "", builder()).status, 404);

  EXPECT_EQ(call(port, "POST", "/v1/builds/" + id + "/retry", "", token("globex-secret-1")).status,
            403);
  auto retry = call(port, "POST", "/v1/builds/" + id + "/retry", "", builder());
  ASSERT_EQ(retry.status, 202) << retry.body;
  EXPECT_NE(retry.str("build_id"), id);
  EXPECT_EQ(retry.str("retry_of"), id);
  auto retried = last_event("requested", retry.str("build_id"));
  ASSERT_TRUE(retried);
  EXPECT_EQ(retried->requested().trigger().kind(), events::v1::Trigger::RETRY);
  EXPECT_EQ(retried->requested().trigger().retry_of(), id);
  EXPECT_EQ(retried->requested().git().ref(), "refs/heads/release/1.0");
  EXPECT_EQ(retried->requested().spec().tags(0), "custom");
  EXPECT_EQ(call(port, "POST", "/v1/builds/no-such-build/retry", "", builder()).status, 404);
}

TEST_F(WebhookIngestTest, UploadedDockerfileAndContext) {
  const int port = service_->port();
  const std::string context = tar_entry("app/hello.txt", '0', "hello\n") + std::string(1024, '\0');
  const Headers upload_headers = this->upload_headers();
  auto uploaded = call(port, "POST", "/v1/uploads", context, upload_headers);
  ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  EXPECT_EQ(uploaded.str("sha256"), sha256_hex(context));
  EXPECT_EQ(uploaded.json->getValue<std::int64_t>("size"),
            static_cast<std::int64_t>(context.size()));
  const std::string upload_id = uploaded.str("upload_id");

  const std::string dockerfile = "FROM 127.0.0.1:5000/kiln/busybox\nCOPY app /app\n";
  auto build = call(port, "POST", "/v1/builds",
                    R"({"dockerfile_base64":")" + base64(dockerfile) +
                        R"(","image":"acme/uploaded","tag":"v1","context_upload_id":")" +
                        upload_id + R"("})",
                    builder());
  ASSERT_EQ(build.status, 202) << build.body;
  auto event = last_event("requested", build.str("build_id"));
  ASSERT_TRUE(event);
  const auto& r = event->requested();
  ASSERT_TRUE(r.has_upload());
  EXPECT_EQ(r.upload().dockerfile(), dockerfile);
  EXPECT_EQ(r.upload().context_upload_id(), upload_id);
  EXPECT_EQ(r.upload().context_sha256(), sha256_hex(context));
  EXPECT_EQ(r.upload().context_format(), "tar");
  EXPECT_EQ(r.spec().image_repository(), "acme/uploaded");
  EXPECT_EQ(r.spec().tags(0), "v1");
  EXPECT_EQ(r.tenant(), "acme");

  const auto before = events_stored();
  auto evil =
      call(port, "POST", "/v1/uploads",
           tar_entry("../../etc/passwd", '0', "x") + std::string(1024, '\0'), upload_headers);
  EXPECT_EQ(evil.status, 422) << evil.body;
  auto device = call(port, "POST", "/v1/uploads", tar_entry("dev", '3') + std::string(1024, '\0'),
                     upload_headers);
  EXPECT_EQ(device.status, 422) << device.body;
  EXPECT_EQ(call(port, "POST", "/v1/builds",
                 R"({"dockerfile_base64":"!!!not base64","image":"acme/x"})", builder())
                .status,
            422);
  EXPECT_EQ(call(port, "POST", "/v1/builds",
                 R"({"dockerfile_base64":")" + base64(dockerfile) +
                     R"(","image":"acme/x","context_upload_id":"never-uploaded"})",
                 builder())
                .status,
            404);
  EXPECT_EQ(events_stored(), before);
}

// Secrets given to a build: sealed into kiln_build_secrets before `requested`, which names their
// ids only; refused (nothing published) when the server has no key or the input is bad.
TEST_F(WebhookIngestTest, BuildSecretsAreSealedAndOnlyTheirIdsAreInTheEvent) {
  const std::string dockerfile = "FROM 127.0.0.1:5000/kiln/busybox\n";
  const std::string value = "s3cr3t-" + random_id();
  auto request = [&](const std::string& secrets) {
    return R"({"dockerfile_base64":")" + base64(dockerfile) +
           R"(","image":"acme/secret","secrets":)" + secrets + "}";
  };
  const std::string given = R"({"tok":")" + base64(value) + R"("})";
  auto refused = call(service_->port(), "POST", "/v1/builds", request(given), builder());
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find("secrets.key-file"), std::string::npos) << refused.body;

  const std::string dir = testing::make_temp_dir("wh-secrets");
  secrets_key_file_ = dir + "/key";
  ASSERT_TRUE(secrets::SealingKey::create(secrets_key_file_).ok());
  service_.reset();
  start_service();
  const int port = service_->port();
  const auto before = events_stored();
  EXPECT_EQ(call(port, "POST", "/v1/builds", request(R"({"a,src=/etc/shadow":"eA=="})"), builder())
                .status,
            422);
  EXPECT_EQ(call(port, "POST", "/v1/builds", request(R"({"tok":"!!"})"), builder()).status, 422);
  const std::string too_big(64 * 1024 + 1, 'x');
  EXPECT_EQ(call(port, "POST", "/v1/builds", request(R"({"tok":")" + base64(too_big) + R"("})"),
                 builder())
                .status,
            422);
  EXPECT_EQ(events_stored(), before) << "a refused request published something";

  auto build = call(port, "POST", "/v1/builds", request(given), builder());
  ASSERT_EQ(build.status, 202) << build.body;
  const std::string build_id = build.str("build_id");
  auto stored =
      bus::last_message(*bus_, bus::kEventsStream, events::build_subject("requested", build_id));
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ(std::string((*stored)->data()).find(value), std::string::npos);
  auto event = events::decode((*stored)->data());
  ASSERT_TRUE(event.ok());
  ASSERT_EQ(event->requested().spec().secret_ids_size(), 1);
  EXPECT_EQ(event->requested().spec().secret_ids(0), "tok");

  auto bucket =
      bus::KeyValue::open(*bus_, bus::kBuildSecretsBucket, bus::build_secrets_bucket_options());
  ASSERT_TRUE(bucket.ok());
  auto raw = (*bucket)->get(build_id + ".tok");
  ASSERT_TRUE(raw.ok() && raw->has_value());
  EXPECT_EQ((*raw)->value.find(value), std::string::npos) << "stored unsealed";
  auto key = secrets::SealingKey::load(secrets_key_file_);
  ASSERT_TRUE(key.ok());
  auto store = secrets::BuildSecrets::open(*bus_, *key);
  ASSERT_TRUE(store.ok());
  auto opened = (*store)->get(build_id, "tok");
  ASSERT_TRUE(opened.ok() && opened->has_value()) << (opened.ok() ? "" : opened.error().describe());
  EXPECT_EQ(**opened, value);

  auto retry = call(port, "POST", "/v1/builds/" + build_id + "/retry", "", builder());
  EXPECT_EQ(retry.status, 409) << retry.body;
}

// Tenants push under their own prefixes only, build host-local sources only when listed, and
// never see each other's uploads; every refusal publishes nothing.
TEST_F(WebhookIngestTest, TenantsStayInTheirImagePrefixesSourcesAndUploads) {
  image_prefixes_ = {"acme=127.0.0.1:5000/octo", "acme=127.0.0.1:5000/acme",
                     "globex=127.0.0.1:5000/globex"};
  service_.reset();
  start_service();
  const int port = service_->port();
  const Headers globex = token("globex-secret-1");
  const std::string dockerfile = base64("FROM 127.0.0.1:5000/kiln/busybox\n");
  auto upload_build = [&](const std::string& image, const std::string& extra, const Headers& who) {
    return call(
        port, "POST", "/v1/builds",
        R"({"dockerfile_base64":")" + dockerfile + R"(","image":")" + image + "\"" + extra + "}",
        who);
  };
  const auto before = events_stored();
  auto stolen = upload_build("octo/hello", "", globex);
  EXPECT_EQ(stolen.status, 403) << stolen.body;
  EXPECT_NE(stolen.body.find("127.0.0.1:5000/globex/*"), std::string::npos) << stolen.body;
  EXPECT_EQ(call(port, "PUT", "/v1/projects/grab",
                 R"({"tenant":"globex","repository_url":"https://example.com/g.git",
                     "image_repository":"acme/app"})",
                 globex)
                .status,
            403);
  auto local = call(port, "PUT", "/v1/projects/local",
                    R"({"tenant":"globex","repository_url":"file:///etc",
                        "image_repository":"globex/app"})",
                    globex);
  EXPECT_EQ(local.status, 403) << local.body;
  EXPECT_NE(local.body.find("sources.local-tenants"), std::string::npos) << local.body;
  EXPECT_EQ(call(port, "PUT", "/v1/projects/loop",
                 R"({"tenant":"globex","repository_url":"http://127.0.0.1:3000/x.git",
                     "image_repository":"globex/app"})",
                 globex)
                .status,
            403);
  EXPECT_EQ(events_stored(), before) << "a refused request published something";

  EXPECT_EQ(upload_build("globex/app", "", globex).status, 202);
  EXPECT_EQ(upload_build("acme/app", "", builder()).status, 202);
  EXPECT_EQ(call(port, "POST", "/v1/builds", R"({"project":"demo"})", builder()).status, 202);

  const std::string context = tar_entry("a.txt", '0', "acme's\n") + std::string(1024, '\0');
  auto uploaded = call(port, "POST", "/v1/uploads", context, upload_headers());
  ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  const std::string upload_id = uploaded.str("upload_id");
  const std::string with_context = R"(,"context_upload_id":")" + upload_id + "\"";
  auto foreign = upload_build("globex/app", with_context, globex);
  EXPECT_EQ(foreign.status, 404) << foreign.body;
  EXPECT_EQ(upload_build("acme/app", with_context, builder()).status, 202);
}

// A tenant not listed in secrets.server-tenants names its webhook secret in its own store; the
// server's environment and files are refused at apply.
TEST_F(WebhookIngestTest, WebhookSecretsOfOtherTenantsComeFromTheirStore) {
  secrets_dir_ = testing::make_temp_dir("wh-store");
  std::filesystem::create_directories(secrets_dir_ + "/globex");
  std::ofstream(secrets_dir_ + "/globex/hook") << "globex hook secret\n";
  service_.reset();
  start_service();
  const int port = service_->port();
  const Headers globex = token("globex-secret-1");
  const std::string project = R"({"tenant":"globex","repository_name":"globex/app",
    "repository_url":"https://github.com/globex/app.git","image_repository":"globex/app",
    "webhook_secret_ref":")";
  auto server_env =
      call(port, "PUT", "/v1/projects/g1", project + R"(env:WH_TEST_SECRET"})", globex);
  EXPECT_EQ(server_env.status, 403) << server_env.body;
  EXPECT_NE(server_env.body.find("store:NAME"), std::string::npos) << server_env.body;
  EXPECT_EQ(call(port, "PUT", "/v1/projects/g1", project + R"(file:/etc/shadow"})", globex).status,
            403);
  auto stored = call(port, "PUT", "/v1/projects/g1", project + R"(store:hook"})", globex);
  ASSERT_EQ(stored.status, 201) << stored.body;

  const std::string body =
      github_push("refs/heads/main", std::string(40, 'a'), R"([])", "globex/app");
  auto accepted = call(port, "POST", "/hooks/github/g1", body,
                       github_headers(body, "globex-1", "push", "globex hook secret"));
  EXPECT_EQ(accepted.status, 202) << accepted.body;
  EXPECT_EQ(call(port, "POST", "/hooks/github/g1", body, github_headers(body, "globex-2")).status,
            401);
}

// A context named by its sha256 (kiln build PATH): stored once per tenant, found by digest by
// that tenant only, and refused when the body is not what was named.
TEST_F(WebhookIngestTest, ContentAddressedUploadsAreFoundByDigestPerTenant) {
  const int port = service_->port();
  const std::string context = tar_entry("a.txt", '0', "named\n") + std::string(1024, '\0');
  const std::string hex = sha256_hex(context);
  EXPECT_EQ(call(port, "GET", "/v1/uploads/sha256:" + hex, "", builder()).status, 404);
  auto stored = call(port, "POST", "/v1/uploads?sha256=" + hex, context, upload_headers());
  ASSERT_EQ(stored.status, 201) << stored.body;
  const std::string upload_id = stored.str("upload_id");

  auto found = call(port, "GET", "/v1/uploads/sha256:" + hex, "", builder());
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_EQ(found.str("upload_id"), upload_id);
  EXPECT_EQ(found.str("sha256"), hex);
  // Sent again: answered from what is stored, nothing written twice.
  auto before = bus::last_stream_sequence(*bus_, bus::kUploadsStream);
  ASSERT_TRUE(before.ok());
  auto again = call(port, "POST", "/v1/uploads?sha256=" + hex, context, upload_headers());
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.str("upload_id"), upload_id);
  auto after = bus::last_stream_sequence(*bus_, bus::kUploadsStream);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *before) << "the same content was stored twice";

  // Another tenant holds no such upload, whatever it knows of the digest.
  Headers globex = token("globex-secret-1");
  EXPECT_EQ(call(port, "GET", "/v1/uploads/sha256:" + hex, "", globex).status, 404);

  const std::string other = tar_entry("b.txt", '0', "other\n") + std::string(1024, '\0');
  auto mismatch =
      call(port, "POST", "/v1/uploads?sha256=" + sha256_hex(other + "x"), other, upload_headers());
  EXPECT_EQ(mismatch.status, 422) << mismatch.body;
  EXPECT_NE(mismatch.body.find("digest_mismatch"), std::string::npos) << mismatch.body;
  EXPECT_EQ(
      call(port, "GET", "/v1/uploads/sha256:" + sha256_hex(other + "x"), "", builder()).status,
      404);
  EXPECT_EQ(call(port, "GET", "/v1/uploads/sha256:XYZ", "", builder()).status, 400);
}

TEST_F(WebhookIngestTest, LargeContextIsChunkedAndLimited) {
  // 1.2 MiB of file data, gzip-compressed by the client: several 512 KiB chunks when stored
  // uncompressed, so the test also sends it as plain tar.
  std::string data(1200 * 1024, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7919) % 251);
  const std::string context = tar_entry("big.bin", '0', data) + std::string(1024, '\0');
  Headers headers = builder();
  auto uploaded = call(service_->port(), "POST", "/v1/uploads", context, headers);
  ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  const std::string upload_id = uploaded.str("upload_id");
  EXPECT_EQ(uploaded.str("sha256"), sha256_hex(context));

  auto reader =
      bus::SubjectReader::open(*bus_, bus::kUploadsStream, events::upload_subject(upload_id),
                               bus::SubjectReader::Start::kAll);
  ASSERT_TRUE(reader.ok());
  std::string joined;
  std::int64_t expected_index = 0;
  for (;;) {
    auto msg = (*reader)->next(3000);
    ASSERT_TRUE(msg.ok() && msg.value()) << "chunk " << expected_index << " missing";
    events::v1::UploadChunk chunk;
    ASSERT_TRUE(chunk.ParseFromArray(msg.value()->data().data(),
                                     static_cast<int>(msg.value()->data().size())));
    EXPECT_EQ(chunk.index(), expected_index++);
    EXPECT_LE(chunk.data().size(), 512u * 1024u);
    joined += chunk.data();
    if (chunk.last()) {
      EXPECT_EQ(chunk.sha256(), sha256_hex(context));
      EXPECT_EQ(chunk.total_size(), static_cast<std::int64_t>(context.size()));
      break;
    }
  }
  EXPECT_EQ(joined, context);
  EXPECT_GE(expected_index, 3);

  service_.reset();
  start_service(64 * 1024);
  // Refused on the declared length, before the body is read.
  auto too_big = call(service_->port(), "POST", "/v1/uploads", context.substr(0, 512), headers,
                      static_cast<std::int64_t>(context.size()));
  EXPECT_EQ(too_big.status, 413) << too_big.body;
}

}  // namespace
}  // namespace kiln::webhook
