#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "common/config.h"
#include "common/ids.h"
#include "common/result.h"

namespace kiln {
namespace {

Config make_config() {
  Config config("svc", "a test service");
  config.option("nats.url", "nats://127.0.0.1:4222", "NATS URL")
      .option("http-port", "8080", "port")
      .option("verbose", "false", "more logs");
  return config;
}

TEST(ConfigTest, PrecedenceIsFlagThenEnvironmentThenFileThenDefault) {
  const std::string path = ::testing::TempDir() + "/kiln-config-test.conf";
  {
    std::ofstream out(path);
    out << "# comment\nnats.url = nats://file:1\nhttp-port = 1000\nverbose = \"yes\"\n";
  }
  auto config = make_config();
  ASSERT_TRUE(config.parse({"--config", path, "--http-port=3000"},
                           {{"KILN_NATS_URL", "nats://env:2"}, {"KILN_HTTP_PORT", "2000"}}));
  EXPECT_EQ(config.get("nats.url"), "nats://env:2");
  EXPECT_EQ(config.get_int("http-port"), 3000);
  EXPECT_TRUE(config.get_bool("verbose"));

  auto defaults = make_config();
  ASSERT_TRUE(defaults.parse(std::vector<std::string>{}, {}));
  EXPECT_EQ(defaults.get("nats.url"), "nats://127.0.0.1:4222");
  std::remove(path.c_str());
}

TEST(ConfigTest, UnknownKeysAreErrors) {
  const std::string path = ::testing::TempDir() + "/kiln-config-typo.conf";
  {
    std::ofstream out(path);
    out << "nats.ulr = nats://x\n";
  }
  auto config = make_config();
  try {
    config.parse({"--config", path}, {});
    FAIL() << "a typo in the config file must be an error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown option 'nats.ulr'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(":1"), std::string::npos) << "names the line";
  }
  auto flags = make_config();
  EXPECT_THROW(flags.parse({"--nope=1"}, {}), ConfigError);
  std::remove(path.c_str());
}

TEST(ConfigTest, BadValuesNameTheOption) {
  auto config = make_config();
  ASSERT_TRUE(config.parse({"--http-port", "eighty"}, {}));
  try {
    config.get_int("http-port");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("http-port"), std::string::npos);
  }
}

TEST(ConfigTest, HelpListsEveryOptionWithEnvironmentName) {
  auto config = make_config();
  const std::string usage = config.usage();
  EXPECT_NE(usage.find("--nats.url"), std::string::npos);
  EXPECT_NE(usage.find("KILN_NATS_URL"), std::string::npos);
  EXPECT_NE(usage.find("KILN_HTTP_PORT"), std::string::npos);
}

TEST(IdsTest, StableIdsAreDeterministicAndDistinct) {
  EXPECT_EQ(stable_id("github:abc"), stable_id("github:abc"));
  EXPECT_NE(stable_id("github:abc"), stable_id("github:abd"));
  EXPECT_EQ(random_id().size(), 36u);
  EXPECT_NE(random_id(), random_id());
}

TEST(IdsTest, KnownDigests) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // GitHub's documented webhook example.
  EXPECT_EQ(hmac_sha256_hex("It's a Secret to Everybody", "Hello, World!"),
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "ab"));
}

TEST(ResultTest, CarriesValueOrError) {
  Result<int> ok = 5;
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 5);
  Result<int> bad = make_error(ErrorCode::kNotFound, "no build x", "NAME_UNKNOWN");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(bad.error().describe(), "NOT_FOUND (NAME_UNKNOWN): no build x");
  EXPECT_EQ(format_time_ms(1'700'000'000'123), "2023-11-14T22:13:20.123Z");
}

}  // namespace
}  // namespace kiln
