// The pusher's options: defaults, environment and flags, and values refused at start-up.
#include <gtest/gtest.h>

#include "common/config.h"
#include "pusher/options.h"
#include "service/service.h"

namespace kiln::pusher {
namespace {

Config make_config() {
  Config config("kiln-pusher", "test");
  service::add_common_options(config, kDefaultHttpPort);
  declare_options(config);
  return config;
}

TEST(PusherOptions, Defaults) {
  Config config = make_config();
  ASSERT_TRUE(config.parse({"kiln-pusher"}, {}));
  const PusherOptions options = read_options(config, "pusher/host-1");
  EXPECT_EQ(options.worker_id, "pusher/host-1");
  EXPECT_EQ(options.slots, 2);
  EXPECT_EQ(options.artifacts_dir, ".kiln/artifacts");
  EXPECT_TRUE(options.insecure_registries.empty());
  EXPECT_EQ(options.parallelism, 4);
  EXPECT_EQ(options.heartbeat_seconds, 5);
  EXPECT_EQ(config.get_int("http.port"), 8084);
}

TEST(PusherOptions, FromEnvironmentAndFlags) {
  Config config = make_config();
  ASSERT_TRUE(config.parse({"kiln-pusher", "--push.slots=3", "--worker.id", "p-7"},
                           {{"KILN_REGISTRY_INSECURE", " 127.0.0.1:5000, localhost:5000,,"},
                            {"KILN_ARTIFACTS_DIR", "/var/lib/kiln/artifacts"},
                            {"KILN_REGISTRY_PARALLELISM", "8"},
                            {"KILN_REGISTRY_DOCKER_CONFIG", "/etc/kiln/docker.json"}}));
  const PusherOptions options = read_options(config, "ignored");
  EXPECT_EQ(options.worker_id, "p-7");
  EXPECT_EQ(options.slots, 3);
  EXPECT_EQ(options.insecure_registries,
            (std::vector<std::string>{"127.0.0.1:5000", "localhost:5000"}));
  EXPECT_EQ(options.artifacts_dir, "/var/lib/kiln/artifacts");
  EXPECT_EQ(options.parallelism, 8);
  EXPECT_EQ(options.docker_config, "/etc/kiln/docker.json");
}

TEST(PusherOptions, RefusesOutOfRangeValuesAndUnknownNames) {
  for (const char* bad : {"--push.slots=0", "--registry.parallelism=-1",
                          "--push.heartbeat-seconds=0", "--artifacts.dir="}) {
    Config config = make_config();
    ASSERT_TRUE(config.parse({"kiln-pusher", bad}, {}));
    EXPECT_THROW(read_options(config, "i"), ConfigError) << bad;
  }
  Config config = make_config();
  EXPECT_THROW(config.parse({"kiln-pusher", "--push.slot=2"}, {}), ConfigError);
}

TEST(PusherOptions, HelpNamesEveryOption) {
  const std::string usage = make_config().usage();
  for (const char* name :
       {"nats.url", "http.port", "push.slots", "artifacts.dir", "registry.insecure",
        "registry.docker-config", "registry.parallelism", "worker.id"}) {
    EXPECT_NE(usage.find(name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace kiln::pusher
