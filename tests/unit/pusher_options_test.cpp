// The pusher's options: defaults, environment and flags, and values refused at start-up.
#include <gtest/gtest.h>

#include "common/config.h"
#include "pusher/options.h"

namespace kiln::pusher {
namespace {

// Parses `args` and `env` into fresh options; a StartupError propagates.
PusherOptions parsed(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env = {}) {
  PusherOptions options;
  Config config = describe(options);
  config.parse(args, env);
  return options;
}

TEST(PusherOptions, Defaults) {
  const PusherOptions options = parsed({});
  EXPECT_EQ(options.worker_id, "");
  EXPECT_EQ(options.slots, 2);
  EXPECT_EQ(options.staging.registry, "127.0.0.1:5000");
  EXPECT_EQ(options.staging.repository, "kiln-staging");
  EXPECT_EQ(options.staging.max_age_hours, 24);
  EXPECT_EQ(options.registries.insecure_hosts,
            (std::vector<std::string>{"127.0.0.1:5000", "localhost:5000"}));
  EXPECT_EQ(options.registries.client.parallelism, 4);
  EXPECT_EQ(options.heartbeat_seconds, 5);
  EXPECT_EQ(options.common.http.port, 8084);
}

TEST(PusherOptions, FromEnvironmentAndFlags) {
  const PusherOptions options =
      parsed({"--push.slots=3", "--worker.id", "p-7"},
             {{"KILN_REGISTRY_INSECURE", " 127.0.0.1:5000, localhost:5000,,"},
              {"KILN_STAGING_REGISTRY", "staging.example:5000"},
              // The builder's option in a shared environment is not an error.
              {"KILN_ARTIFACTS_DIR", "/var/lib/kiln/artifacts"},
              {"KILN_REGISTRY_PARALLELISM", "8"},
              {"KILN_REGISTRY_DOCKER_CONFIG", "/etc/kiln/docker.json"},
              // Another service's option in a shared environment is not an error.
              {"KILN_DATABASE_URL", "postgresql://x"}});
  EXPECT_EQ(options.worker_id, "p-7");
  EXPECT_EQ(options.slots, 3);
  EXPECT_EQ(options.registries.insecure_hosts,
            (std::vector<std::string>{"127.0.0.1:5000", "localhost:5000"}));
  EXPECT_EQ(options.staging.registry, "staging.example:5000");
  EXPECT_EQ(options.registries.client.parallelism, 8);
  EXPECT_EQ(options.registries.docker_config, "/etc/kiln/docker.json");
}

TEST(PusherOptions, RefusesOutOfRangeValuesAndUnknownNames) {
  const std::map<std::string, std::string> refused = {
      {"--push.slots=0", "option push.slots must be between 1 and 1024, got '0'"},
      {"--registry.parallelism=-1", "option registry.parallelism must be between 1 and 1024"},
      {"--push.heartbeat-seconds=30", "option push.heartbeat-seconds must be between 1 and 25"},
      {"--staging.registry=", "option staging.registry must be set"},
      {"--staging.max-age-hours=0", "option staging.max-age-hours must be between 1 and 8760"},
      {"--push.slot=2", "unknown option 'push.slot'"}};
  for (const auto& [flag, message] : refused) {
    try {
      parsed({flag});
      ADD_FAILURE() << flag << " was accepted";
    } catch (const StartupError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(parsed({}, {{"KILN_PUSH_SLOT", "2"}}), StartupError);
}

TEST(PusherOptions, HelpNamesEveryOption) {
  PusherOptions options;
  const std::string usage = describe(options).usage();
  for (const char* name : {"nats.url", "http.port", "push.slots", "staging.registry",
                           "staging.repository", "staging.max-age-hours", "registry.insecure",
                           "registry.docker-config", "registry.parallelism", "worker.id"}) {
    EXPECT_NE(usage.find(name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace kiln::pusher
