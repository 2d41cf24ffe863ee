// Unit tests of libs/oci and the server-free parts of libs/registry: digests, manifests, layout
// reading, image references, WWW-Authenticate, docker config.json, registry error bodies,
// token responses, backoff arithmetic.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/ids.h"
#include "oci/digest.h"
#include "oci/layout.h"
#include "oci/manifest.h"
#include "oci/reference.h"
#include "registry/auth.h"
#include "registry/credentials.h"
#include "registry/errors.h"
#include "registry/retry.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

const std::string kHelloDigest =
    "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";  // "hello"

void write_file(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "kiln-oci-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---- digests ---------------------------------------------------------------------------------

TEST(Digest, ParsesValidSha256) {
  auto d = oci::Digest::parse(kHelloDigest);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->algorithm, "sha256");
  EXPECT_EQ(d->hex.size(), 64u);
  EXPECT_EQ(d->str(), kHelloDigest);
}

TEST(Digest, RejectsMalformed) {
  for (const std::string& bad : std::vector<std::string>{
           "", "sha256", "sha256:", "sha256:abc", "md5:" + std::string(32, 'a'),
           "sha256:" + std::string(63, 'a'), "sha256:" + std::string(65, 'a'),
           "sha256:" + std::string(64, 'A'), "sha256:" + std::string(63, 'a') + "g",
           " sha256:" + std::string(64, 'a'), "sha512:" + std::string(128, 'a')}) {
    auto d = oci::Digest::parse(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument) << d.error().describe();
    }
    EXPECT_FALSE(oci::is_valid_digest(bad));
  }
}

TEST(Digest, StreamingMatchesOneShot) {
  oci::Sha256 h;
  h.update("he");
  h.update("llo");
  EXPECT_EQ(h.bytes(), 5);
  EXPECT_EQ(h.finish(), kHelloDigest);
  EXPECT_EQ(oci::sha256_digest("hello"), kHelloDigest);
  EXPECT_EQ(h.finish(), oci::sha256_digest(""));  // finish resets
}

TEST(Digest, FileDigestAndVerify) {
  TempDir dir;
  const std::string path = dir.path() + "/blob";
  write_file(path, "hello");
  auto d = oci::sha256_file(path);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->digest, kHelloDigest);
  EXPECT_EQ(d->size, 5);
  EXPECT_TRUE(oci::verify_file(path, kHelloDigest, 5).ok());
  auto wrong_size = oci::verify_file(path, kHelloDigest, 6);
  ASSERT_FALSE(wrong_size.ok());
  EXPECT_EQ(wrong_size.error().code, ErrorCode::kDataLoss) << wrong_size.error().describe();
  auto wrong = oci::verify_file(path, oci::sha256_digest("other"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kDataLoss) << wrong.error().describe();
  EXPECT_NE(wrong.error().message.find(kHelloDigest), std::string::npos);
  auto missing = oci::sha256_file(dir.path() + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound) << missing.error().describe();
}

// ---- manifests and layouts -------------------------------------------------------------------

struct Blob {
  std::string data;
  std::string digest;
};

Blob put_blob(const std::string& layout, const std::string& data) {
  Blob b{data, oci::sha256_digest(data)};
  write_file(layout + "/blobs/sha256/" + b.digest.substr(7), data);
  return b;
}

std::string descriptor_json(const std::string& media_type, const Blob& b,
                            const std::string& extra = "") {
  return "{\"mediaType\":\"" + media_type + "\",\"digest\":\"" + b.digest +
         "\",\"size\":" + std::to_string(b.data.size()) + extra + "}";
}

// Writes a layout with two images named "v1" and "v2"; returns their manifests.
std::pair<Blob, Blob> write_two_image_layout(const std::string& dir) {
  write_file(dir + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
  std::pair<Blob, Blob> out;
  for (int i = 1; i <= 2; ++i) {
    Blob config = put_blob(
        dir, "{\"architecture\":\"amd64\",\"os\":\"linux\",\"n\":" + std::to_string(i) + "}");
    Blob layer1 = put_blob(dir, "layer one of image " + std::to_string(i));
    Blob layer2 = put_blob(dir, std::string(10000, static_cast<char>('a' + i)));
    Blob manifest = put_blob(
        dir,
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"config\":" +
            descriptor_json("application/vnd.oci.image.config.v1+json", config) + ",\"layers\":[" +
            descriptor_json("application/vnd.oci.image.layer.v1.tar+gzip", layer1) + "," +
            descriptor_json("application/vnd.oci.image.layer.v1.tar+gzip", layer2) + "]}");
    (i == 1 ? out.first : out.second) = manifest;
  }
  write_file(
      dir + "/index.json",
      "{\"schemaVersion\":2,\"manifests\":[" +
          descriptor_json("application/vnd.oci.image.manifest.v1+json", out.first,
                          ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}") +
          "," +
          descriptor_json("application/vnd.oci.image.manifest.v1+json", out.second,
                          ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"v2\"}") +
          "]}");
  return out;
}

TEST(Layout, FindsManifestByRefName) {
  TempDir dir;
  auto [m1, m2] = write_two_image_layout(dir.path());
  auto layout = oci::ImageLayout::open(dir.path());
  ASSERT_TRUE(layout.ok()) << layout.error().describe();
  ASSERT_EQ(layout->entries().size(), 2u);

  auto d2 = layout->find("v2");
  ASSERT_TRUE(d2.ok());
  EXPECT_EQ(d2->digest, m2.digest);
  auto manifest = layout->read_manifest(*d2);
  ASSERT_TRUE(manifest.ok()) << manifest.error().describe();
  EXPECT_EQ(manifest->media_type, oci::kMediaTypeOciManifest);
  EXPECT_EQ(manifest->digest, m2.digest);
  EXPECT_EQ(manifest->raw, m2.data);
  ASSERT_TRUE(manifest->config.has_value());
  ASSERT_EQ(manifest->layers.size(), 2u);
  EXPECT_EQ(manifest->layers[1].size, 10000);
  EXPECT_EQ(manifest->blobs().size(), 3u);
  EXPECT_FALSE(manifest->is_index());
  for (const auto& b : manifest->blobs()) {
    EXPECT_TRUE(layout->verify_blob(b).ok()) << b.digest;
    auto size = layout->blob_size(b.digest);
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(*size, b.size);
  }
  EXPECT_GT(manifest->content_size(), 10000);

  auto none = layout->find("v3");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound) << none.error().describe();
  // Two images and no name: ambiguous, and the error lists the names.
  auto ambiguous = layout->find();
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_EQ(ambiguous.error().code, ErrorCode::kFailedPrecondition) << ambiguous.error().describe();
  EXPECT_NE(ambiguous.error().message.find("v1, v2"), std::string::npos);
}

TEST(Layout, OnlyManifestWithoutName) {
  TempDir dir;
  write_file(dir.path() + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
  Blob config = put_blob(dir.path(), "{}");
  Blob manifest =
      put_blob(dir.path(), "{\"schemaVersion\":2,\"config\":" +
                               descriptor_json("application/vnd.oci.image.config.v1+json", config) +
                               ",\"layers\":[]}");
  write_file(dir.path() + "/index.json",
             "{\"schemaVersion\":2,\"manifests\":[" +
                 descriptor_json("application/vnd.oci.image.manifest.v1+json", manifest) + "]}");
  auto layout = oci::ImageLayout::open(dir.path() + "/");
  ASSERT_TRUE(layout.ok()) << layout.error().describe();
  auto d = layout->find();
  ASSERT_TRUE(d.ok());
  auto m = layout->read_manifest(*d);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  // No mediaType in the manifest: taken from the index entry.
  EXPECT_EQ(m->media_type, oci::kMediaTypeOciManifest);
  EXPECT_TRUE(m->layers.empty());
}

TEST(Layout, DetectsCorruptBlobsAndBadLayouts) {
  TempDir dir;
  auto [m1, m2] = write_two_image_layout(dir.path());
  auto layout = oci::ImageLayout::open(dir.path());
  ASSERT_TRUE(layout.ok());
  auto manifest = layout->read_manifest(*layout->find("v1"));
  ASSERT_TRUE(manifest.ok());
  const auto layer = manifest->layers[1];
  // Same size, different bytes.
  write_file(layout->blob_path(layer.digest), std::string(10000, 'z'));
  auto verified = layout->verify_blob(layer);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code, ErrorCode::kDataLoss) << verified.error().describe();
  // A corrupt manifest is caught on read.
  write_file(layout->blob_path(m1.digest), m1.data + " ");
  auto bad_manifest = layout->read_manifest(*layout->find("v1"));
  ASSERT_FALSE(bad_manifest.ok());
  EXPECT_EQ(bad_manifest.error().code, ErrorCode::kDataLoss) << bad_manifest.error().describe();

  TempDir empty;
  auto not_layout = oci::ImageLayout::open(empty.path());
  ASSERT_FALSE(not_layout.ok());
  EXPECT_EQ(not_layout.error().code, ErrorCode::kNotFound) << not_layout.error().describe();
  write_file(empty.path() + "/oci-layout", "{\"imageLayoutVersion\":\"2.0.0\"}");
  write_file(empty.path() + "/index.json", "{\"schemaVersion\":2,\"manifests\":[]}");
  auto wrong_version = oci::ImageLayout::open(empty.path());
  ASSERT_FALSE(wrong_version.ok());
  EXPECT_EQ(wrong_version.error().code, ErrorCode::kInvalidArgument)
      << wrong_version.error().describe();
}

TEST(Manifest, ParsesIndexAndRejectsBadDescriptors) {
  const std::string child = oci::sha256_digest("child");
  auto index = oci::parse_manifest(
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
      "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"digest\":\"" +
      child +
      "\",\"size\":5,\"platform\":{\"os\":\"linux\","
      "\"architecture\":\"arm64\",\"variant\":\"v8\"}}]}");
  ASSERT_TRUE(index.ok()) << index.error().describe();
  EXPECT_TRUE(index->is_index());
  ASSERT_EQ(index->manifests.size(), 1u);
  EXPECT_EQ(index->manifests[0].platform, "linux/arm64/v8");
  EXPECT_TRUE(index->blobs().empty());

  auto bad_digest = oci::parse_manifest(
      "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:xyz\",\"size\":1},\"layers\":[]}");
  ASSERT_FALSE(bad_digest.ok());
  EXPECT_EQ(bad_digest.error().code, ErrorCode::kInvalidArgument) << bad_digest.error().describe();
  EXPECT_NE(bad_digest.error().message.find("config"), std::string::npos);
  auto negative = oci::parse_manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"" + child +
                                      "\",\"size\":-1},\"layers\":[]}");
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.error().code, ErrorCode::kInvalidArgument) << negative.error().describe();
  auto schema1 = oci::parse_manifest("{\"schemaVersion\":1}");
  ASSERT_FALSE(schema1.ok());
  EXPECT_EQ(schema1.error().code, ErrorCode::kInvalidArgument) << schema1.error().describe();
  auto not_json = oci::parse_manifest("not json");
  ASSERT_FALSE(not_json.ok());
  EXPECT_EQ(not_json.error().code, ErrorCode::kInvalidArgument) << not_json.error().describe();
  auto d = oci::parse_descriptor_json("{\"digest\":\"" + child + "\",\"size\":7}");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->size, 7);
}

TEST(Reference, ParsesHostRepositoryTagDigest) {
  auto r = oci::parse_image_reference("127.0.0.1:5000/team/app:v1.2");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->host, "127.0.0.1:5000");
  EXPECT_EQ(r->repository, "team/app");
  EXPECT_EQ(r->tag, "v1.2");
  EXPECT_EQ(r->str(), "127.0.0.1:5000/team/app:v1.2");

  auto d = oci::parse_image_reference("localhost/app@" + kHelloDigest);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->host, "localhost");
  EXPECT_EQ(d->digest, kHelloDigest);
  EXPECT_TRUE(d->tag.empty());

  auto defaulted = oci::parse_image_reference("team/app", "registry.example.com");
  ASSERT_TRUE(defaulted.ok());
  EXPECT_EQ(defaulted->host, "registry.example.com");
  EXPECT_EQ(defaulted->repository, "team/app");

  for (const std::string bad : {"team/app", "host.io/Team/App", "host.io/app:-bad"}) {
    auto rejected = oci::parse_image_reference(bad);
    ASSERT_FALSE(rejected.ok()) << bad;
    EXPECT_EQ(rejected.error().code, ErrorCode::kInvalidArgument) << rejected.error().describe();
  }
  EXPECT_TRUE(oci::is_valid_repository("a/b-c/d__e.f"));
  EXPECT_FALSE(oci::is_valid_repository("a//b"));
  EXPECT_TRUE(oci::is_valid_tag("latest"));
  EXPECT_FALSE(oci::is_valid_tag(std::string(129, 'a')));
}

// ---- WWW-Authenticate and tokens --------------------------------------------------------------

TEST(WwwAuthenticate, ParsesBearerWithCommasInScope) {
  auto challenges = registry::parse_www_authenticate(
      "Bearer realm=\"https://auth.example.com/token\",service=\"registry.example.com\","
      "scope=\"repository:team/app:pull,push\"");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(challenges[0].scheme, "bearer");
  EXPECT_EQ(challenges[0].param("realm"), "https://auth.example.com/token");
  EXPECT_EQ(challenges[0].param("service"), "registry.example.com");
  EXPECT_EQ(challenges[0].param("scope"), "repository:team/app:pull,push");
}

TEST(WwwAuthenticate, ParsesBasicSeveralChallengesAndEscapes) {
  auto basic = registry::parse_www_authenticate("Basic realm=\"basic-realm\"");
  ASSERT_EQ(basic.size(), 1u);
  EXPECT_EQ(basic[0].scheme, "basic");
  EXPECT_EQ(basic[0].param("realm"), "basic-realm");

  auto two = registry::parse_www_authenticate(
      "Basic realm=\"r\\\"q\", BEARER Realm=https://a/t, service=s");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].param("realm"), "r\"q");
  EXPECT_EQ(two[1].scheme, "bearer");
  EXPECT_EQ(two[1].param("realm"), "https://a/t");
  EXPECT_EQ(two[1].param("service"), "s");

  EXPECT_TRUE(registry::parse_www_authenticate("").empty());
  EXPECT_EQ(registry::repository_scope("a/b"), "repository:a/b:pull,push");
}

TEST(TokenResponse, ParsesTokenAndExpiry) {
  auto t = registry::parse_token_response("{\"token\":\"abc\",\"expires_in\":300}");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->token, "abc");
  EXPECT_EQ(t->expires_in.count(), 300);
  auto access = registry::parse_token_response("{\"access_token\":\"xyz\"}");
  ASSERT_TRUE(access.ok());
  EXPECT_EQ(access->token, "xyz");
  EXPECT_EQ(access->expires_in.count(), 60);
  for (const std::string bad : {"{\"expires_in\":3}", "<html>"}) {
    auto rejected = registry::parse_token_response(bad);
    ASSERT_FALSE(rejected.ok()) << bad;
    EXPECT_EQ(rejected.error().code, ErrorCode::kInvalidArgument) << rejected.error().describe();
  }
}

// ---- credentials -----------------------------------------------------------------------------

TEST(DockerConfig, FindsCredentialsForHost) {
  const std::string config =
      "{\"auths\":{"
      "\"https://index.docker.io/v1/\":{\"auth\":\"" +
      registry::base64_encode("hub:hubpw") +
      "\"},"
      "\"registry.example.com\":{\"auth\":\"" +
      registry::base64_encode("alice:pa:ss") +
      "\"},"
      "\"http://127.0.0.1:5000\":{\"username\":\"bob\",\"password\":\"pw\"},"
      "\"helper.example.com\":{}"
      "},\"credsStore\":\"desktop\"}";
  auto alice = registry::credentials_from_docker_config(config, "registry.example.com");
  ASSERT_TRUE(alice.ok());
  ASSERT_TRUE(alice->has_value());
  EXPECT_EQ((*alice)->username, "alice");
  EXPECT_EQ((*alice)->password, "pa:ss");  // only the first colon splits

  auto bob = registry::credentials_from_docker_config(config, "127.0.0.1:5000");
  ASSERT_TRUE(bob.ok() && bob->has_value());
  EXPECT_EQ((*bob)->username, "bob");
  EXPECT_EQ((*bob)->password, "pw");

  auto hub = registry::credentials_from_docker_config(config, "docker.io");
  ASSERT_TRUE(hub.ok() && hub->has_value());
  EXPECT_EQ((*hub)->username, "hub");

  auto none = registry::credentials_from_docker_config(config, "other.example.com");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto helper_only = registry::credentials_from_docker_config(config, "helper.example.com");
  ASSERT_TRUE(helper_only.ok());
  EXPECT_FALSE(helper_only->has_value());

  auto bad_json = registry::credentials_from_docker_config("{", "x");
  ASSERT_FALSE(bad_json.ok());
  EXPECT_EQ(bad_json.error().code, ErrorCode::kInvalidArgument) << bad_json.error().describe();
  auto bad_b64 = registry::credentials_from_docker_config(
      "{\"auths\":{\"x\":{\"auth\":\"bm9jb2xvbg==\"}}}", "x");  // "nocolon"
  ASSERT_FALSE(bad_b64.ok());
  EXPECT_EQ(bad_b64.error().code, ErrorCode::kInvalidArgument) << bad_b64.error().describe();
}

TEST(DockerConfig, EnvironmentWinsThenFile) {
  TempDir dir;
  const std::string path = dir.path() + "/config.json";
  write_file(path, "{\"auths\":{\"reg.example\":{\"auth\":\"" +
                       registry::base64_encode("fileuser:filepw") + "\"}}}");
  ::unsetenv(registry::kEnvUsername);
  ::unsetenv(registry::kEnvPassword);
  auto from_file = registry::resolve_credentials("reg.example", path);
  ASSERT_TRUE(from_file.ok());
  EXPECT_EQ(from_file->username, "fileuser");
  EXPECT_EQ(from_file->describe(), "user 'fileuser'");

  ::setenv(registry::kEnvUsername, "envuser", 1);
  ::setenv(registry::kEnvPassword, "envpw", 1);
  auto from_env = registry::resolve_credentials("reg.example", path);
  ::unsetenv(registry::kEnvUsername);
  ::unsetenv(registry::kEnvPassword);
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(from_env->username, "envuser");
  EXPECT_EQ(from_env->password, "envpw");

  auto anonymous = registry::resolve_credentials("other.example", path);
  ASSERT_TRUE(anonymous.ok());
  EXPECT_TRUE(anonymous->empty());
  EXPECT_EQ(anonymous->describe(), "anonymous");
  auto missing_file = registry::resolve_credentials("reg.example", dir.path() + "/nope.json");
  ASSERT_TRUE(missing_file.ok());
  EXPECT_TRUE(missing_file->empty());
}

TEST(Base64, RoundTrips) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", "user:pa ss\x01\xff"}) {
    auto decoded = registry::base64_decode(registry::base64_encode(s));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, s);
  }
  EXPECT_EQ(registry::base64_encode("alice:secret"), "YWxpY2U6c2VjcmV0");
  EXPECT_EQ(*registry::base64_decode("YWxpY2U6c2VjcmV0"), "alice:secret");
  EXPECT_FALSE(registry::base64_decode("!!!!").has_value());
}

// ---- registry errors and retries -------------------------------------------------------------

TEST(RegistryErrors, ParsesErrorBody) {
  const std::string body =
      "{\"errors\":[{\"code\":\"DIGEST_INVALID\",\"message\":\"provided digest did not match "
      "uploaded content\",\"detail\":{\"Digest\":\"sha256:abc\"}}]}";
  auto entries = registry::parse_registry_errors(body);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].code, "DIGEST_INVALID");
  EXPECT_NE(entries[0].detail.find("sha256:abc"), std::string::npos);

  Error e = registry::registry_error(400, body, "PUT blob");
  EXPECT_EQ(e.peer_code, "DIGEST_INVALID");
  EXPECT_EQ(e.code, ErrorCode::kDataLoss);
  EXPECT_NE(e.message.find("PUT blob: HTTP 400: DIGEST_INVALID: provided digest"),
            std::string::npos);

  Error denied = registry::registry_error(
      403,
      "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"requested access to the resource is "
      "denied\"}]}",
      "PUT manifest");
  EXPECT_EQ(denied.peer_code, "DENIED");
  EXPECT_EQ(denied.code, ErrorCode::kPermissionDenied);

  Error name = registry::registry_error(
      404,
      "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"repository name not known\","
      "\"detail\":{\"name\":\"x\"}}]}",
      "GET");
  EXPECT_EQ(name.code, ErrorCode::kNotFound);
  EXPECT_EQ(registry::registry_error(401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}", "x").code,
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(
      registry::registry_error(400, "{\"errors\":[{\"code\":\"MANIFEST_BLOB_UNKNOWN\"}]}", "x")
          .code,
      ErrorCode::kFailedPrecondition);

  Error gateway = registry::registry_error(502, "<html>bad gateway</html>", "HEAD");
  EXPECT_EQ(gateway.peer_code, "HTTP 502");
  EXPECT_EQ(gateway.code, ErrorCode::kUnavailable);
  EXPECT_TRUE(registry::is_retryable(gateway));
  Error throttled = registry::registry_error(429, "", "HEAD");
  EXPECT_EQ(throttled.code, ErrorCode::kResourceExhausted);
  EXPECT_TRUE(registry::parse_registry_errors("{\"errors\":5}").empty());
  EXPECT_TRUE(registry::parse_registry_errors("").empty());
}

TEST(Retry, StatusesAndBackoff) {
  EXPECT_TRUE(registry::is_retryable_status(429));
  EXPECT_TRUE(registry::is_retryable_status(500));
  EXPECT_TRUE(registry::is_retryable_status(503));
  EXPECT_FALSE(registry::is_retryable_status(501));
  EXPECT_FALSE(registry::is_retryable_status(400));
  EXPECT_FALSE(registry::is_retryable_status(404));

  registry::RetryPolicy policy;
  policy.base_delay = std::chrono::milliseconds(100);
  policy.max_delay = std::chrono::milliseconds(1000);
  EXPECT_EQ(registry::backoff_delay(policy, 1, 1.0).count(), 100);
  EXPECT_EQ(registry::backoff_delay(policy, 1, 0.0).count(), 50);
  EXPECT_EQ(registry::backoff_delay(policy, 3, 1.0).count(), 400);
  EXPECT_EQ(registry::backoff_delay(policy, 10, 1.0).count(), 1000);
  for (int i = 0; i < 100; ++i) {
    const double u = registry::random_unit();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }

  EXPECT_EQ(registry::parse_retry_after("3")->count(), 3000);
  EXPECT_EQ(registry::parse_retry_after(" 0")->count(), 0);
  EXPECT_FALSE(registry::parse_retry_after("").has_value());
  EXPECT_FALSE(registry::parse_retry_after("soon").has_value());
  auto past = registry::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT");
  ASSERT_TRUE(past.has_value());
  EXPECT_EQ(past->count(), 0);
}

}  // namespace
}  // namespace kiln
