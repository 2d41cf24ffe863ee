#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/ids.h"
#include "common/result.h"

namespace kiln {
namespace {

// A part's options as a service declares them: the member initialisers are the defaults.
struct SvcOptions {
  std::string nats_url = "nats://127.0.0.1:4222";
  int http_port = 8080;
  bool verbose = false;
  std::vector<std::string> origins = {"a", "b"};
  std::chrono::seconds lease{6};
};

Config make_config(SvcOptions& o) {
  Config config("svc", "a test service");
  config.bind("nats.url", o.nats_url, "NATS URL").not_empty();
  config.bind("http-port", o.http_port, "port").range(1, 65535);
  config.bind("verbose", o.verbose, "more logs");
  config.bind("origins", o.origins, "origins");
  config.bind("lease-seconds", o.lease, "lease").at_least(1);
  return config;
}

// The message of the StartupError `parse` throws ("" when it does not throw).
std::string parse_error(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env = {},
                        std::set<std::string> tolerated = {}) {
  SvcOptions options;
  Config config = make_config(options);
  config.tolerate_environment(std::move(tolerated));
  try {
    config.parse(args, env);
  } catch (const StartupError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigTest, PrecedenceIsFlagThenEnvironmentThenFileThenDefault) {
  const std::string path = ::testing::TempDir() + "/kiln-config-test.conf";
  {
    std::ofstream out(path);
    out << "# comment\nnats.url = nats://file:1\nhttp-port = 1000\nverbose = \"yes\"\n"
        << "origins = x, y ,,z\n";
  }
  SvcOptions options;
  auto config = make_config(options);
  ASSERT_TRUE(config.parse({"--config", path, "--http-port=3000", "--lease-seconds", "9"},
                           {{"KILN_NATS_URL", "nats://env:2"}, {"KILN_HTTP_PORT", "2000"}}));
  EXPECT_EQ(options.nats_url, "nats://env:2");
  EXPECT_EQ(config.source("nats.url"), "environment KILN_NATS_URL");
  EXPECT_EQ(options.http_port, 3000);
  EXPECT_EQ(config.source("http-port"), "command line");
  EXPECT_TRUE(options.verbose);
  EXPECT_EQ(config.source("verbose"), path + ":4");
  EXPECT_EQ(options.origins, (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(options.lease, std::chrono::seconds(9));

  SvcOptions defaults;
  auto untouched = make_config(defaults);
  ASSERT_TRUE(untouched.parse(std::vector<std::string>{}, {}));
  EXPECT_EQ(defaults.nats_url, "nats://127.0.0.1:4222");
  EXPECT_EQ(defaults.http_port, 8080);
  EXPECT_EQ(defaults.origins, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(untouched.source("http-port"), "default");
  std::remove(path.c_str());
}

TEST(ConfigTest, UnknownNamesAreErrorsInFileFlagsAndEnvironment) {
  const std::string path = ::testing::TempDir() + "/kiln-config-typo.conf";
  {
    std::ofstream out(path);
    out << "nats.ulr = nats://x\n";
  }
  const std::string in_file = parse_error({"--config", path});
  EXPECT_NE(in_file.find("unknown option 'nats.ulr'"), std::string::npos) << in_file;
  EXPECT_NE(in_file.find(path + ":1"), std::string::npos) << "names the line: " << in_file;
  EXPECT_NE(parse_error({"--nope=1"}).find("unknown option 'nope' in the command line"),
            std::string::npos);

  const std::string in_env = parse_error({}, {{"KILN_HTTP_PROT", "1"}});
  EXPECT_NE(in_env.find("unknown environment variable KILN_HTTP_PROT"), std::string::npos)
      << in_env;
  // Another program's variable is fine when declared as known; KILN_CONFIG always is.
  EXPECT_EQ(
      parse_error({}, {{"KILN_OTHER_SETTING", "1"}, {"KILN_CONFIG", ""}}, {"KILN_OTHER_SETTING"}),
      "");
  std::remove(path.c_str());
}

TEST(ConfigTest, BadValuesNameTheOptionTheValueAndItsSource) {
  EXPECT_EQ(parse_error({"--http-port", "eighty"}),
            "option http-port must be an integer, got 'eighty' (from command line)");
  EXPECT_EQ(parse_error({}, {{"KILN_HTTP_PORT", "0"}}),
            "option http-port must be between 1 and 65535, got '0' (from environment "
            "KILN_HTTP_PORT)");
  EXPECT_EQ(parse_error({"--verbose=perhaps"}),
            "option verbose must be true or false, got 'perhaps' (from command line)");
  EXPECT_EQ(parse_error({"--nats.url="}),
            "option nats.url must be set, got '' (from command line)");
  EXPECT_EQ(parse_error({"--lease-seconds=0"}),
            "option lease-seconds must be at least 1, got '0' (from command line)");
  EXPECT_EQ(parse_error({"--http-port"}), "option --http-port needs a value");
  EXPECT_EQ(parse_error({"--verbose=1", "extra"}),
            "unexpected argument 'extra': svc takes options only (see --help)");
}

TEST(ConfigTest, HelpAndDocsComeFromTheDeclarations) {
  SvcOptions options;
  auto config = make_config(options);
  const std::string usage = config.usage();
  EXPECT_NE(usage.find("--nats.url  (KILN_NATS_URL)"), std::string::npos) << usage;
  EXPECT_NE(usage.find("port [1–65535] [default: 8080]"), std::string::npos) << usage;
  EXPECT_NE(usage.find("origins [default: a,b]"), std::string::npos) << usage;
  const std::string markdown = config.markdown();
  EXPECT_NE(markdown.find("| `http-port` | `KILN_HTTP_PORT` | `8080` | integer 1–65535 | port |"),
            std::string::npos)
      << markdown;
  EXPECT_NE(markdown.find("| `lease-seconds` | `KILN_LEASE_SECONDS` | `6` | integer ≥ 1 |"),
            std::string::npos)
      << markdown;
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
