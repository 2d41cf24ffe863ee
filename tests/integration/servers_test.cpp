// Smoke tests of the real-server fixtures in tests/support: each server comes up, answers,
// survives what the other integration tests do to it (kill -9, stop, restart) and is gone after
// its destructor.
#include "support/servers.h"

#include <gtest/gtest.h>
#include <nats/nats.h>
#include <sys/wait.h>

#include <cerrno>
#include <memory>
#include <string>

#include "support/process.h"

namespace kiln::testing {
namespace {

// True when every child this process started has been reaped: no server and no zombie left.
bool no_children_left() { return waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD; }

// ---- nats.c handles, owned ---------------------------------------------------------------------

struct ConnectionDeleter {
  void operator()(natsConnection* c) const { natsConnection_Destroy(c); }
};
struct JetStreamDeleter {
  void operator()(jsCtx* js) const { jsCtx_Destroy(js); }
};
using Connection = std::unique_ptr<natsConnection, ConnectionDeleter>;
using JetStream = std::unique_ptr<jsCtx, JetStreamDeleter>;

Connection connect(const std::string& url) {
  natsConnection* connection = nullptr;
  natsStatus status = natsConnection_ConnectTo(&connection, url.c_str());
  EXPECT_EQ(status, NATS_OK) << natsStatus_GetText(status);
  return Connection(connection);
}

JetStream jetstream(natsConnection* connection) {
  jsCtx* js = nullptr;
  EXPECT_EQ(natsConnection_JetStream(&js, connection, nullptr), NATS_OK);
  return JetStream(js);
}

// Messages stored in `stream`, or -1 if it cannot be read.
long long stream_messages(jsCtx* js, const char* stream) {
  jsStreamInfo* info = nullptr;
  jsErrCode error = static_cast<jsErrCode>(0);
  if (js_GetStreamInfo(&info, js, stream, nullptr, &error) != NATS_OK) return -1;
  const long long messages = static_cast<long long>(info->State.Msgs);
  jsStreamInfo_Destroy(info);
  return messages;
}

// ---- nats-server ------------------------------------------------------------------------------

TEST(NatsServerTest, JetStreamStoreSurvivesKill9AndRestart) {
  NatsServer nats;
  EXPECT_TRUE(nats.running());
  EXPECT_EQ(nats.url(), "nats://127.0.0.1:" + std::to_string(nats.port()));
  {
    Connection connection = connect(nats.url());
    ASSERT_TRUE(connection);
    JetStream js = jetstream(connection.get());
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = "SMOKE";
    const char* subjects[] = {"smoke.>"};
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    jsErrCode error = static_cast<jsErrCode>(0);
    ASSERT_EQ(js_AddStream(nullptr, js.get(), &config, nullptr, &error), NATS_OK) << error;
    for (int i = 0; i < 3; ++i) {
      jsPubAck* ack = nullptr;
      ASSERT_EQ(js_Publish(&ack, js.get(), "smoke.event", "x", 1, nullptr, &error), NATS_OK);
      jsPubAck_Destroy(ack);
    }
  }

  nats.kill9();
  EXPECT_FALSE(nats.running());
  EXPECT_FALSE(wait_for_port(nats.port(), 100));

  nats.restart();
  EXPECT_TRUE(nats.running());
  Connection connection = connect(nats.url());
  ASSERT_TRUE(connection);
  JetStream js = jetstream(connection.get());
  EXPECT_EQ(stream_messages(js.get(), "SMOKE"), 3);
}

TEST(NatsServerTest, StopThenRestartOnTheSamePort) {
  NatsServer nats;
  const int port = nats.port();
  nats.stop();
  EXPECT_FALSE(nats.running());
  EXPECT_FALSE(wait_for_port(port, 100));
  nats.restart();
  EXPECT_EQ(nats.port(), port);
  EXPECT_TRUE(wait_for_port(port, 1000));
}

TEST(NatsServerTest, DestructorStopsTheServer) {
  int port = 0;
  {
    NatsServer nats;
    port = nats.port();
    ASSERT_TRUE(wait_for_port(port, 1000));
  }
  EXPECT_FALSE(wait_for_port(port, 100));
  EXPECT_TRUE(no_children_left());
}

TEST(NatsServerTest, ServersGetDistinctPorts) {
  NatsServer first;
  NatsServer second;
  EXPECT_NE(first.port(), second.port());
}

// ---- PostgreSQL ------------------------------------------------------------------------------

int psql(const std::string& url, const std::string& sql, std::string* output) {
  return run_command("psql -X -q -tA " + sh_quote(url) + " -c " + sh_quote(sql), output);
}

TEST(PostgresServerTest, DatabaseKilnKeepsDataAcrossStopAndRestart) {
  PostgresServer postgres;
  EXPECT_EQ(postgres.url(),
            "postgresql://postgres@127.0.0.1:" + std::to_string(postgres.port()) + "/kiln");
  std::string output;
  ASSERT_EQ(psql(postgres.url(), "SELECT current_database()", &output), 0) << output;
  EXPECT_EQ(output, "kiln\n");
  ASSERT_EQ(psql(postgres.url(), "CREATE TABLE t (v int); INSERT INTO t VALUES (42)", &output), 0)
      << output;

  postgres.stop();
  EXPECT_FALSE(wait_for_port(postgres.port(), 100));
  EXPECT_NE(psql(postgres.url(), "SELECT 1", &output), 0);

  postgres.restart();
  ASSERT_EQ(psql(postgres.url(), "SELECT v FROM t", &output), 0) << output;
  EXPECT_EQ(output, "42\n");
}

TEST(PostgresServerTest, DestructorStopsTheServer) {
  int port = 0;
  {
    PostgresServer postgres;
    port = postgres.port();
  }
  EXPECT_FALSE(wait_for_port(port, 100));
  EXPECT_TRUE(no_children_left());
}

// ---- docker-registry -------------------------------------------------------------------------

int http_status(const std::string& url, const std::string& curl_options = "") {
  std::string output;
  run_command("curl -s -o /dev/null -w '%{http_code}' " + curl_options + " " + sh_quote(url),
              &output);
  return std::atoi(output.c_str());
}

TEST(RegistryServerTest, AnswersTheDistributionApi) {
  RegistryServer registry;
  EXPECT_EQ(registry.host(), "127.0.0.1:" + std::to_string(registry.port()));
  EXPECT_EQ(http_status("http://" + registry.host() + "/v2/"), 200);
}

TEST(RegistryServerTest, HtpasswdAuthRequiresTheCredentials) {
  RegistryServer registry("kiln", "s3cret");
  const std::string url = "http://" + registry.host() + "/v2/";
  EXPECT_EQ(http_status(url), 401);
  EXPECT_EQ(http_status(url, "-u kiln:wrong"), 401);
  EXPECT_EQ(http_status(url, "-u kiln:s3cret"), 200);
}

TEST(RegistryServerTest, DestructorStopsTheServer) {
  int port = 0;
  {
    RegistryServer registry;
    port = registry.port();
  }
  EXPECT_FALSE(wait_for_port(port, 100));
  EXPECT_TRUE(no_children_left());
}

TEST(PushBaseImageTest, MakesAPullableImage) {
  RegistryServer registry;
  // Shared across test runs so the image is built once and only pushed afterwards.
  push_base_image(registry.host(), std::string(KILN_BINARY_DIR) + "/test-buildah");

  const std::string manifest_url =
      "http://" + registry.host() + "/v2/kiln/busybox/manifests/latest";
  std::string manifest;
  ASSERT_EQ(run_command("curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' " +
                            sh_quote(manifest_url),
                        &manifest),
            0)
      << manifest;
  EXPECT_NE(manifest.find("application/vnd.oci.image.manifest.v1+json"), std::string::npos)
      << manifest;

  // Every blob the manifest names can be fetched: skopeo copies the whole image out.
  std::string output;
  EXPECT_EQ(run_command("dir=$(mktemp -d) && skopeo copy --quiet --src-tls-verify=false "
                        "docker://" +
                            registry.host() +
                            "/kiln/busybox:latest oci:\"$dir\":latest"
                            "; status=$?; rm -rf \"$dir\"; exit $status",
                        &output),
            0)
      << output;

  // Pushing again is a no-op, not an error.
  push_base_image(registry.host(), std::string(KILN_BINARY_DIR) + "/test-buildah");
}

}  // namespace
}  // namespace kiln::testing
