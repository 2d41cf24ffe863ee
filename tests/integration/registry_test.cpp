// libs/registry against a real docker-registry (Debian's distribution v2) on loopback: push an
// OCI layout the test writes, pull it back, re-push, mount, corrupt layers, basic auth, and a
// proxy run by the test in front of the registry that injects 500/429, demands Bearer tokens
// (and revokes them early), and redirects blob downloads to another host.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/NullStream.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "oci/digest.h"
#include "oci/layout.h"
#include "registry/client.h"
#include "registry/credentials.h"
#include "registry/push.h"
#include "support/servers.h"

namespace kiln::registry {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// ---- an OCI layout written by the test -------------------------------------------------------

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_file(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

struct TestImage {
  std::string dir;
  std::string manifest_digest;
  std::string config_digest;
  std::vector<std::string> layer_digests;
  std::int64_t blob_bytes = 0;  // config + layers

  std::string blob_path(const std::string& digest) const {
    return dir + "/blobs/sha256/" + digest.substr(7);
  }
  int blob_count() const { return static_cast<int>(layer_digests.size()) + 1; }
};

std::string descriptor(const std::string& media_type, const std::string& digest, std::size_t size) {
  return "{\"mediaType\":\"" + media_type + "\",\"digest\":\"" + digest +
         "\",\"size\":" + std::to_string(size) + "}";
}

// Random layers of the given sizes, a config, a manifest, index.json naming it `tag`.
TestImage make_image(const std::string& dir, const std::vector<std::size_t>& layer_sizes,
                     unsigned seed, const std::string& tag = "latest") {
  TestImage image;
  image.dir = dir;
  write_file(dir + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
  auto put = [&](const std::string& data) {
    const std::string digest = oci::sha256_digest(data);
    write_file(dir + "/blobs/sha256/" + digest.substr(7), data);
    return digest;
  };
  std::mt19937_64 rng(seed);
  std::string layers_json;
  for (std::size_t size : layer_sizes) {
    std::string data(size, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    const std::string digest = put(data);
    image.layer_digests.push_back(digest);
    image.blob_bytes += static_cast<std::int64_t>(size);
    layers_json += (layers_json.empty() ? "" : ",") +
                   descriptor("application/vnd.oci.image.layer.v1.tar", digest, size);
  }
  const std::string config =
      "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"seed\":" +
      std::to_string(seed) + "}";
  image.config_digest = put(config);
  image.blob_bytes += static_cast<std::int64_t>(config.size());
  const std::string manifest =
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"config\":" +
      descriptor("application/vnd.oci.image.config.v1+json", image.config_digest, config.size()) +
      ",\"layers\":[" + layers_json + "]}";
  image.manifest_digest = put(manifest);
  write_file(dir + "/index.json",
             "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image."
             "manifest.v1+json\",\"digest\":\"" +
                 image.manifest_digest + "\",\"size\":" + std::to_string(manifest.size()) +
                 ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"" + tag + "\"}}]}");
  return image;
}

// ---- a proxy in front of the registry --------------------------------------------------------

class TestProxy {
 public:
  struct Fault {
    std::string method;
    std::string path_part;  // matched with find()
    int status = 500;
    int times = 1;
    std::string retry_after;
  };

  TestProxy(const std::string& upstream_host, int upstream_port)
      : upstream_host_(upstream_host),
        upstream_port_(upstream_port),
        socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(16);
    params->setKeepAlive(true);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(this), socket_, params);
    server_->start();
  }
  ~TestProxy() { server_->stopAll(true); }

  int port() const { return socket_.address().port(); }
  std::string host() const { return "127.0.0.1:" + std::to_string(port()); }

  void add_fault(Fault f) {
    std::lock_guard lock(mutex_);
    faults_.push_back(std::move(f));
  }
  int faults_served() const { return faults_served_; }

  // Every request but GET /token needs "Bearer <token>" from GET /token, which wants Basic
  // user:password. A token stops working `lifetime` after it was issued although it claims
  // expires_in=300 (an early revocation: the client must refresh on 401).
  void require_bearer(std::string user, std::string password, milliseconds lifetime) {
    std::lock_guard lock(mutex_);
    bearer_ = true;
    user_ = std::move(user);
    password_ = std::move(password);
    token_lifetime_ = lifetime;
  }
  int tokens_issued() const { return tokens_issued_; }
  int stale_tokens_refused() const { return stale_tokens_refused_; }
  std::string last_scope() {
    std::lock_guard lock(mutex_);
    return last_scope_;
  }

  // GET .../blobs/sha256:... answers 307 to `base` + the same URI.
  void redirect_blob_gets_to(std::string base) {
    std::lock_guard lock(mutex_);
    redirect_base_ = std::move(base);
  }
  void set_delay(milliseconds d) { delay_ms_ = static_cast<int>(d.count()); }

  // "METHOD /path" of every request that carried an Authorization header.
  std::vector<std::string> authorized_requests() {
    std::lock_guard lock(mutex_);
    return authorized_;
  }
  int requests() const { return requests_; }

 private:
  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(TestProxy* proxy) : proxy_(proxy) {}
    void handleRequest(Poco::Net::HTTPServerRequest& req,
                       Poco::Net::HTTPServerResponse& resp) override {
      try {
        proxy_->handle(req, resp);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "proxy error: %s\n", e.what());
      }
    }

   private:
    TestProxy* proxy_;
  };
  class Factory : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(TestProxy* proxy) : proxy_(proxy) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(proxy_);
    }

   private:
    TestProxy* proxy_;
  };

  static void drain(Poco::Net::HTTPServerRequest& req) {
    Poco::NullOutputStream null;
    Poco::StreamCopier::copyStream(req.stream(), null);
  }

  static void send_json(Poco::Net::HTTPServerResponse& resp, int status, const std::string& body) {
    resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    resp.setContentType("application/json");
    resp.setContentLength(static_cast<std::streamsize>(body.size()));
    resp.send() << body;
  }

  void handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
    ++requests_;
    const std::string method = req.getMethod();
    const std::string uri = req.getURI();
    const std::string path = uri.substr(0, uri.find('?'));
    std::optional<Fault> fault;
    {
      std::lock_guard lock(mutex_);
      if (req.has("Authorization")) authorized_.push_back(method + " " + path);
      for (auto& f : faults_) {
        if (f.times > 0 && f.method == method && path.find(f.path_part) != std::string::npos) {
          --f.times;
          fault = f;
          break;
        }
      }
    }
    if (delay_ms_ > 0) std::this_thread::sleep_for(milliseconds(delay_ms_));
    if (bearer_ && path == "/token") {
      drain(req);
      issue_token(req, resp);
      return;
    }
    if (fault) {
      ++faults_served_;
      drain(req);
      if (!fault->retry_after.empty()) resp.set("Retry-After", fault->retry_after);
      send_json(resp, fault->status,
                "{\"errors\":[{\"code\":\"" +
                    std::string(fault->status == 429 ? "TOOMANYREQUESTS" : "UNKNOWN") +
                    "\",\"message\":\"injected by the test proxy\"}]}");
      return;
    }
    if (bearer_ && !token_ok(req)) {
      drain(req);
      std::string scope;
      if (path.rfind("/v2/", 0) == 0) {
        const auto end = path.find("/blobs/") != std::string::npos ? path.find("/blobs/")
                                                                   : path.find("/manifests/");
        if (end != std::string::npos) {
          scope = ",scope=\"repository:" + path.substr(4, end - 4) + ":pull,push\"";
        }
      }
      resp.set("WWW-Authenticate",
               "Bearer realm=\"http://" + host() + "/token\",service=\"kiln-test\"" + scope);
      send_json(resp, 401,
                "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication "
                "required\"}]}");
      return;
    }
    std::string redirect;
    {
      std::lock_guard lock(mutex_);
      redirect = redirect_base_;
    }
    if (!redirect.empty() && method == "GET" && path.find("/blobs/sha256:") != std::string::npos) {
      drain(req);
      resp.setStatus(Poco::Net::HTTPResponse::HTTP_TEMPORARY_REDIRECT);
      resp.set("Location", redirect + uri);
      resp.setContentLength(0);
      resp.send();
      return;
    }
    forward(req, resp);
  }

  bool token_ok(Poco::Net::HTTPServerRequest& req) {
    const std::string auth = req.get("Authorization", "");
    if (auth.rfind("Bearer ", 0) != 0) return false;
    std::lock_guard lock(mutex_);
    auto it = tokens_.find(auth.substr(7));
    if (it == tokens_.end()) return false;
    if (std::chrono::steady_clock::now() - it->second > token_lifetime_) {
      ++stale_tokens_refused_;
      return false;
    }
    return true;
  }

  void issue_token(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
    std::string expected;
    {
      std::lock_guard lock(mutex_);
      expected = "Basic " + base64_encode(user_ + ":" + password_);
    }
    if (req.get("Authorization", "") != expected) {
      send_json(resp, 401,
                "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"invalid username or "
                "password\"}]}");
      return;
    }
    const std::string token = "tok-" + std::to_string(++tokens_issued_);
    {
      std::lock_guard lock(mutex_);
      tokens_[token] = std::chrono::steady_clock::now();
      Poco::URI u(req.getURI());
      last_scope_.clear();
      for (const auto& [k, v] : u.getQueryParameters()) {
        if (k == "scope") last_scope_ += (last_scope_.empty() ? "" : " ") + v;
      }
    }
    send_json(resp, 200, "{\"token\":\"" + token + "\",\"expires_in\":300}");
  }

  void forward(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
    Poco::Net::HTTPClientSession session(upstream_host_, static_cast<Poco::UInt16>(upstream_port_));
    session.setTimeout(Poco::Timespan(60, 0));
    Poco::Net::HTTPRequest up(req.getMethod(), req.getURI(), Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [k, v] : req) {
      const std::string key = Poco::toLower(k);
      if (key == "authorization" || key == "expect" || key == "connection" ||
          key == "transfer-encoding" || key == "content-length") {
        continue;
      }
      up.set(k, v);
    }
    const bool has_body = req.getChunkedTransferEncoding() ||
                          (req.hasContentLength() && req.getContentLength64() > 0);
    if (req.getChunkedTransferEncoding()) {
      up.setChunkedTransferEncoding(true);
    } else if (req.hasContentLength()) {
      up.setContentLength64(req.getContentLength64());
    }
    std::ostream& os = session.sendRequest(up);
    if (has_body) Poco::StreamCopier::copyStream64(req.stream(), os);
    Poco::Net::HTTPResponse ur;
    std::istream& is = session.receiveResponse(ur);
    resp.setStatusAndReason(ur.getStatus(), ur.getReason());
    for (const auto& [k, v] : ur) {
      const std::string key = Poco::toLower(k);
      if (key == "connection" || key == "transfer-encoding") continue;
      resp.set(k, v);
    }
    if (ur.getChunkedTransferEncoding()) resp.setChunkedTransferEncoding(true);
    std::ostream& out = resp.send();
    if (req.getMethod() != "HEAD") Poco::StreamCopier::copyStream64(is, out);
  }

  std::string upstream_host_;
  int upstream_port_;
  Poco::Net::ServerSocket socket_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;

  std::mutex mutex_;
  std::vector<Fault> faults_;
  std::atomic<int> faults_served_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> delay_ms_{0};
  std::atomic<bool> bearer_{false};
  std::string user_;
  std::string password_;
  milliseconds token_lifetime_{0};
  std::map<std::string, std::chrono::steady_clock::time_point> tokens_;
  std::atomic<int> tokens_issued_{0};
  std::atomic<int> stale_tokens_refused_{0};
  std::string last_scope_;
  std::string redirect_base_;
  std::vector<std::string> authorized_;
};

// ---- fixture ---------------------------------------------------------------------------------

constexpr std::int64_t kMiB = 1 << 20;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { workdir_ = testing::make_temp_dir("kiln-registry-test"); }
  void TearDown() override { testing::remove_tree(workdir_); }

  static RegistryOptions options_for(const std::string& host) {
    RegistryOptions o;
    o.host = host;
    o.insecure = true;
    o.chunk_size = kMiB;
    o.chunked_threshold = kMiB;  // the 2.5 MiB layer goes up in three PATCHes
    o.retry.base_delay = milliseconds(50);
    return o;
  }

  // config + 4 layers, one bigger than the chunk size.
  TestImage standard_image(const std::string& name, unsigned seed) {
    return make_image(workdir_ + "/" + name, {512, 200 * 1024, 5 * kMiB / 2, 3000}, seed);
  }

  static PushRequest request_for(const TestImage& image, const std::string& repository,
                                 std::vector<std::string> tags = {"latest"}) {
    PushRequest r;
    r.layout_dir = image.dir;
    r.repository = repository;
    r.tags = std::move(tags);
    return r;
  }

  // Pulls the manifest by digest and every blob back, comparing bytes with the layout.
  static void expect_pulled_back(RegistryClient& client, const std::string& repository,
                                 const TestImage& image) {
    auto manifest = client.get_manifest(repository, image.manifest_digest);
    ASSERT_TRUE(manifest.ok()) << manifest.error().describe();
    EXPECT_EQ(manifest->raw, read_file(image.blob_path(image.manifest_digest)));
    EXPECT_EQ(manifest->media_type, "application/vnd.oci.image.manifest.v1+json");
    std::vector<std::string> blobs = image.layer_digests;
    blobs.push_back(image.config_digest);
    for (const auto& digest : blobs) {
      auto data = client.get_blob(repository, digest);
      ASSERT_TRUE(data.ok()) << data.error().describe();
      EXPECT_TRUE(*data == read_file(image.blob_path(digest))) << digest;
    }
  }

  std::string workdir_;
};

// ---- tests -----------------------------------------------------------------------------------

TEST_F(RegistryTest, PushesAndPullsBackByDigest) {
  testing::RegistryServer registry;
  RegistryClient client(options_for(registry.host()));
  ASSERT_TRUE(client.ping().ok());
  const TestImage image = standard_image("img", 1);

  std::atomic<std::int64_t> progress_bytes{0};
  std::atomic<int> blobs_done{0};
  std::vector<std::string> manifests;
  PushRequest req = request_for(image, "team/app", {"v1", "latest"});
  req.on_progress = [&](const PushProgress& p) {
    if (p.kind == PushProgress::Kind::kBytes) progress_bytes += p.bytes;
    if (p.kind == PushProgress::Kind::kBlobDone) ++blobs_done;
    if (p.kind == PushProgress::Kind::kManifestPushed) manifests.push_back(p.reference);
  };
  auto report = push_layout(client, req);
  ASSERT_TRUE(report.ok()) << report.error().describe();
  EXPECT_EQ(report->manifest_digest, image.manifest_digest);
  EXPECT_EQ(report->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(report->blobs_uploaded, image.blob_count());
  EXPECT_EQ(report->blobs_skipped, 0);
  EXPECT_EQ(report->blobs_mounted, 0);
  EXPECT_EQ(report->bytes_uploaded, image.blob_bytes);
  EXPECT_EQ(report->bytes_total, image.blob_bytes);
  EXPECT_EQ(report->bytes_skipped, 0);
  EXPECT_EQ(report->manifests_pushed, 2);
  ASSERT_EQ(report->image_refs.size(), 3u);
  EXPECT_EQ(report->image_refs[0], registry.host() + "/team/app:v1");
  EXPECT_EQ(report->image_refs[2], registry.host() + "/team/app@" + image.manifest_digest);
  EXPECT_EQ(blobs_done.load(), image.blob_count());
  EXPECT_GE(progress_bytes.load(), image.blob_bytes);
  EXPECT_EQ(manifests, (std::vector<std::string>{"v1", "latest"}));

  expect_pulled_back(client, "team/app", image);
  for (const std::string tag : {"v1", "latest"}) {
    auto by_tag = client.get_manifest("team/app", tag);
    ASSERT_TRUE(by_tag.ok()) << by_tag.error().describe();
    EXPECT_EQ(by_tag->digest, image.manifest_digest);
  }
  // The big (chunked) layer, streamed to a file.
  const std::string big = image.layer_digests[2];
  const std::string out = workdir_ + "/pulled";
  ASSERT_TRUE(client.get_blob_to_file("team/app", big, out).ok());
  EXPECT_TRUE(read_file(out) == read_file(image.blob_path(big)));

  auto missing = client.get_manifest("team/app", "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound) << missing.error().describe();
  EXPECT_EQ(missing.error().peer_code, "MANIFEST_UNKNOWN");
  auto unknown_repo = client.get_manifest("no/such", "latest");
  ASSERT_FALSE(unknown_repo.ok());
  EXPECT_EQ(unknown_repo.error().code, ErrorCode::kNotFound) << unknown_repo.error().describe();
  // distribution 2.8 with filesystem storage answers MANIFEST_UNKNOWN for an unknown repository.
  EXPECT_EQ(unknown_repo.error().peer_code, "MANIFEST_UNKNOWN") << unknown_repo.error().describe();
}

TEST_F(RegistryTest, RepushUploadsNothing) {
  testing::RegistryServer registry;
  RegistryClient client(options_for(registry.host()));
  const TestImage image = standard_image("img", 2);
  auto first = push_layout(client, request_for(image, "team/app"));
  ASSERT_TRUE(first.ok()) << first.error().describe();
  auto second = push_layout(client, request_for(image, "team/app", {"latest", "again"}));
  ASSERT_TRUE(second.ok()) << second.error().describe();
  EXPECT_EQ(second->bytes_uploaded, 0);
  EXPECT_EQ(second->blobs_uploaded, 0);
  EXPECT_EQ(second->blobs_skipped, image.blob_count());
  EXPECT_EQ(second->bytes_skipped, image.blob_bytes);
  EXPECT_EQ(second->manifest_digest, first->manifest_digest);
  std::printf("cold push %lld ms, re-push %lld ms\n",
              static_cast<long long>(first->duration.count()),
              static_cast<long long>(second->duration.count()));
  EXPECT_LT(second->duration.count(), 2000);
}

TEST_F(RegistryTest, MountsFromAnotherRepository) {
  testing::RegistryServer registry;
  RegistryClient client(options_for(registry.host()));
  const TestImage image = standard_image("img", 3);
  ASSERT_TRUE(push_layout(client, request_for(image, "team/base")).ok());

  PushRequest req = request_for(image, "team/other");
  req.mount_from = {"team/empty", "team/base"};  // the first has nothing: falls through
  auto report = push_layout(client, req);
  ASSERT_TRUE(report.ok()) << report.error().describe();
  EXPECT_EQ(report->blobs_mounted, image.blob_count());
  EXPECT_EQ(report->blobs_uploaded, 0);
  EXPECT_EQ(report->bytes_uploaded, 0);
  EXPECT_EQ(report->bytes_skipped, image.blob_bytes);
  expect_pulled_back(client, "team/other", image);

  // A mount that cannot happen opens an upload session that upload_blob can continue.
  const TestImage other = make_image(workdir_ + "/small", {1000}, 33);
  const std::string layer = other.layer_digests[0];
  auto mount = client.mount_blob("team/third", layer, "team/base");
  ASSERT_TRUE(mount.ok()) << mount.error().describe();
  EXPECT_FALSE(mount->mounted);
  ASSERT_FALSE(mount->upload_url.empty());
  auto uploaded = client.upload_blob("team/third", {other.blob_path(layer), layer, 1000}, {},
                                     mount->upload_url);
  ASSERT_TRUE(uploaded.ok()) << uploaded.error().describe();
  EXPECT_EQ(uploaded->attempts, 1);
  auto exists = client.blob_exists("team/third", layer);
  ASSERT_TRUE(exists.ok());
  EXPECT_TRUE(exists->exists);
  EXPECT_EQ(exists->size, 1000);
}

TEST_F(RegistryTest, CorruptedLayerFailsWithoutPushingTheManifest) {
  testing::RegistryServer registry;
  RegistryClient client(options_for(registry.host()));
  // Small layer (monolithic PUT): the registry rejects it with DIGEST_INVALID.
  {
    const TestImage image = make_image(workdir_ + "/small", {4096, 100}, 4);
    write_file(image.blob_path(image.layer_digests[0]), std::string(4096, 'x'));
    auto report = push_layout(client, request_for(image, "team/corrupt"));
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.error().peer_code, "DIGEST_INVALID") << report.error().describe();
    EXPECT_EQ(report.error().code, ErrorCode::kDataLoss) << report.error().describe();
    EXPECT_NE(report.error().message.find(image.layer_digests[0]), std::string::npos);
    auto manifest = client.get_manifest("team/corrupt", "latest");
    ASSERT_FALSE(manifest.ok());
    EXPECT_EQ(manifest.error().code, ErrorCode::kNotFound) << manifest.error().describe();
    EXPECT_EQ(manifest.error().peer_code, "MANIFEST_UNKNOWN");
  }
  // Big layer (chunked): kiln's own hash catches it before the final PUT.
  {
    const TestImage image = make_image(workdir_ + "/big", {3 * kMiB}, 5);
    auto path = image.blob_path(image.layer_digests[0]);
    std::string data = read_file(path);
    data[2 * kMiB] ^= 1;
    write_file(path, data);
    auto report = push_layout(client, request_for(image, "team/corrupt2"));
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.error().code, ErrorCode::kDataLoss) << report.error().describe();
    EXPECT_EQ(report.error().peer_code, "") << "kiln's own hash, not the registry's answer";
    auto manifest = client.get_manifest("team/corrupt2", "latest");
    ASSERT_FALSE(manifest.ok());
    EXPECT_EQ(manifest.error().code, ErrorCode::kNotFound) << manifest.error().describe();
    EXPECT_EQ(manifest.error().peer_code, "MANIFEST_UNKNOWN");
    auto blob = client.blob_exists("team/corrupt2", image.layer_digests[0]);
    ASSERT_TRUE(blob.ok());
    EXPECT_FALSE(blob->exists);
  }
  // Truncated layer: a local size error, nothing sent.
  {
    const TestImage image = make_image(workdir_ + "/short", {5000}, 6);
    write_file(image.blob_path(image.layer_digests[0]), std::string(10, 'x'));
    auto report = push_layout(client, request_for(image, "team/corrupt3"));
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.error().code, ErrorCode::kDataLoss) << report.error().describe();
    EXPECT_EQ(report.error().peer_code, "") << "found locally: nothing was sent";
  }
}

TEST_F(RegistryTest, BasicAuth) {
  testing::RegistryServer registry("alice", "s3cret-pw");
  const TestImage image = standard_image("img", 7);

  log::init("registry_test", "debug");
  ::testing::internal::CaptureStderr();
  RegistryOptions good = options_for(registry.host());
  good.credentials = {"alice", "s3cret-pw"};
  RegistryClient client(good);
  auto report = push_layout(client, request_for(image, "team/app"));
  const std::string logs = ::testing::internal::GetCapturedStderr();
  log::init("registry_test", "info");
  ASSERT_TRUE(report.ok()) << report.error().describe();
  expect_pulled_back(client, "team/app", image);
  EXPECT_NE(logs.find("image pushed"), std::string::npos);
  EXPECT_EQ(logs.find("s3cret-pw"), std::string::npos);
  EXPECT_EQ(logs.find(base64_encode("alice:s3cret-pw")), std::string::npos);
  EXPECT_EQ(logs.find("Authorization"), std::string::npos);

  RegistryOptions wrong = options_for(registry.host());
  wrong.credentials = {"alice", "wrong-pw"};
  RegistryClient wrong_client(wrong);
  auto refused = push_layout(wrong_client, request_for(image, "team/app"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthenticated) << refused.error().describe();
  EXPECT_EQ(refused.error().peer_code, "UNAUTHORIZED") << refused.error().describe();
  EXPECT_NE(refused.error().message.find("refused the credentials of user 'alice'"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(refused.error().message.find("wrong-pw"), std::string::npos);
  std::printf("wrong password: %s\n", refused.error().describe().c_str());

  RegistryClient anonymous(options_for(registry.host()));
  auto denied = anonymous.ping();
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, ErrorCode::kUnauthenticated) << denied.error().describe();
  EXPECT_EQ(denied.error().peer_code, "UNAUTHORIZED") << denied.error().describe();
  EXPECT_NE(denied.error().message.find("no credentials are configured"), std::string::npos);
}

TEST_F(RegistryTest, RetriesInjected500And429) {
  testing::RegistryServer registry;
  TestProxy proxy("127.0.0.1", registry.port());
  proxy.add_fault({"HEAD", "/blobs/", 429, 1, "1"});
  proxy.add_fault({"PUT", "/blobs/uploads/", 500, 1, ""});
  proxy.add_fault({"PATCH", "/blobs/uploads/", 503, 1, ""});
  proxy.add_fault({"POST", "/blobs/uploads/", 502, 1, ""});
  proxy.add_fault({"PUT", "/manifests/", 500, 1, ""});
  RegistryClient client(options_for(proxy.host()));
  const TestImage image = standard_image("img", 8);
  const auto started = std::chrono::steady_clock::now();
  auto report = push_layout(client, request_for(image, "team/app"));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(report.ok()) << report.error().describe();
  EXPECT_EQ(proxy.faults_served(), 5);
  EXPECT_GE(elapsed, milliseconds(1000));  // Retry-After: 1 was honoured
  EXPECT_EQ(report->blobs_uploaded, image.blob_count());
  RegistryClient direct(options_for(registry.host()));
  expect_pulled_back(direct, "team/app", image);

  // A fault that outlasts the retry budget surfaces with the status as peer code.
  TestProxy always("127.0.0.1", registry.port());
  always.add_fault({"HEAD", "/blobs/", 503, 100, ""});
  RegistryOptions impatient = options_for(always.host());
  impatient.retry.max_attempts = 2;
  RegistryClient failing(impatient);
  auto failed = push_layout(failing, request_for(image, "team/app"));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable) << failed.error().describe();
  // A HEAD answer has no body, so the status is the peer code.
  EXPECT_EQ(failed.error().peer_code, "HTTP 503") << failed.error().describe();
}

TEST_F(RegistryTest, BearerTokensAreRefreshedWhenRefused) {
  testing::RegistryServer registry;
  TestProxy proxy("127.0.0.1", registry.port());
  proxy.require_bearer("bob", "tokpw", milliseconds(300));
  proxy.set_delay(milliseconds(60));
  RegistryOptions opts = options_for(proxy.host());
  opts.credentials = {"bob", "tokpw"};
  opts.parallelism = 2;
  RegistryClient client(opts);
  const TestImage image = standard_image("img", 9);
  auto report = push_layout(client, request_for(image, "team/app"));
  ASSERT_TRUE(report.ok()) << report.error().describe();
  EXPECT_GE(proxy.tokens_issued(), 2);
  EXPECT_GE(proxy.stale_tokens_refused(), 1);
  EXPECT_EQ(proxy.last_scope(), "repository:team/app:pull,push");
  expect_pulled_back(client, "team/app", image);
  EXPECT_EQ(proxy.last_scope(), "repository:team/app:pull");

  RegistryOptions wrong = opts;
  wrong.credentials.password = "nope";
  RegistryClient refused_client(wrong);
  auto refused = refused_client.blob_exists("team/app", image.config_digest);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthenticated) << refused.error().describe();
  EXPECT_EQ(refused.error().peer_code, "UNAUTHORIZED");
  EXPECT_NE(refused.error().message.find("user 'bob'"), std::string::npos);
}

TEST_F(RegistryTest, RedirectToAnotherHostCarriesNoAuthorization) {
  testing::RegistryServer registry;
  TestProxy storage("127.0.0.1", registry.port());  // "blob storage", reached as localhost
  TestProxy front("127.0.0.1", registry.port());
  front.require_bearer("carol", "pw", milliseconds(60'000));
  RegistryOptions opts = options_for(front.host());
  opts.credentials = {"carol", "pw"};
  RegistryClient client(opts);
  const TestImage image = make_image(workdir_ + "/img", {70'000, 1234}, 10);
  ASSERT_TRUE(push_layout(client, request_for(image, "team/app")).ok());

  front.redirect_blob_gets_to("http://localhost:" + std::to_string(storage.port()));
  for (const auto& digest : image.layer_digests) {
    auto data = client.get_blob("team/app", digest);
    ASSERT_TRUE(data.ok()) << data.error().describe();
    EXPECT_TRUE(*data == read_file(image.blob_path(digest)));
  }
  EXPECT_EQ(storage.requests(), 2);
  EXPECT_TRUE(storage.authorized_requests().empty());
  EXPECT_FALSE(front.authorized_requests().empty());
}

TEST_F(RegistryTest, CancelStopsThePushBeforeTheManifest) {
  testing::RegistryServer registry;
  TestProxy slow("127.0.0.1", registry.port());
  slow.set_delay(milliseconds(300));
  RegistryOptions opts = options_for(slow.host());
  opts.parallelism = 1;
  RegistryClient client(opts);
  const TestImage image = standard_image("img", 11);
  std::atomic<bool> stop{false};
  PushRequest req = request_for(image, "team/app");
  req.cancel = cancel_when(&stop);
  req.on_progress = [&](const PushProgress& p) {
    if (p.kind == PushProgress::Kind::kBlobDone) stop = true;
  };
  auto report = push_layout(client, req);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, ErrorCode::kCancelled) << report.error().describe();
  RegistryClient direct(options_for(registry.host()));
  auto manifest = direct.get_manifest("team/app", "latest");
  ASSERT_FALSE(manifest.ok());
  EXPECT_EQ(manifest.error().code, ErrorCode::kNotFound) << manifest.error().describe();
  EXPECT_EQ(manifest.error().peer_code, "MANIFEST_UNKNOWN");
}

TEST_F(RegistryTest, PushesAnImageIndexWithItsChildren) {
  testing::RegistryServer registry;
  RegistryClient client(options_for(registry.host()));
  const std::string dir = workdir_ + "/multi";
  const TestImage amd64 = make_image(dir, {3000, 4000}, 12);
  const TestImage arm64 = make_image(dir, {3000, 5000}, 13);  // same dir: blobs side by side
  auto child = [&](const TestImage& image, const std::string& arch) {
    const std::string raw = read_file(image.blob_path(image.manifest_digest));
    return "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" +
           image.manifest_digest + "\",\"size\":" + std::to_string(raw.size()) +
           ",\"platform\":{\"os\":\"linux\",\"architecture\":\"" + arch + "\"}}";
  };
  const std::string index =
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
      "\"manifests\":[" +
      child(amd64, "amd64") + "," + child(arm64, "arm64") + "]}";
  const std::string index_digest = oci::sha256_digest(index);
  write_file(dir + "/blobs/sha256/" + index_digest.substr(7), index);
  write_file(dir + "/index.json",
             "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image."
             "index.v1+json\",\"digest\":\"" +
                 index_digest + "\",\"size\":" + std::to_string(index.size()) + "}]}");

  PushRequest req;
  req.layout_dir = dir;
  req.repository = "team/multi";
  req.tags = {"1.0"};
  auto report = push_layout(client, req);
  ASSERT_TRUE(report.ok()) << report.error().describe();
  EXPECT_EQ(report->manifest_digest, index_digest);
  EXPECT_EQ(report->media_type, "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(report->manifests_pushed, 3);  // two children by digest, the index by tag
  EXPECT_EQ(report->blobs_uploaded, 6);    // two configs, four layers
  auto fetched = client.get_manifest("team/multi", "1.0");
  ASSERT_TRUE(fetched.ok()) << fetched.error().describe();
  EXPECT_EQ(fetched->digest, index_digest);
  EXPECT_EQ(fetched->media_type, "application/vnd.oci.image.index.v1+json");
  expect_pulled_back(client, "team/multi", amd64);
  expect_pulled_back(client, "team/multi", arm64);
}

TEST_F(RegistryTest, RejectsBadNamesLocally) {
  RegistryClient client(options_for("127.0.0.1:1"));
  auto bad_repo = client.blob_exists("Bad/Repo", oci::sha256_digest("x"));
  ASSERT_FALSE(bad_repo.ok());
  EXPECT_EQ(bad_repo.error().code, ErrorCode::kInvalidArgument) << bad_repo.error().describe();
  auto bad_digest = client.blob_exists("good/repo", "sha256:nothex");
  ASSERT_FALSE(bad_digest.ok());
  EXPECT_EQ(bad_digest.error().code, ErrorCode::kInvalidArgument) << bad_digest.error().describe();
  RegistryOptions opts = options_for("127.0.0.1:1");
  opts.retry.max_attempts = 2;
  RegistryClient unreachable(opts);
  auto down = unreachable.ping();
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, ErrorCode::kUnavailable) << down.error().describe();
}

}  // namespace
}  // namespace kiln::registry
