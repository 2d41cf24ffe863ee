// kiln build --secret: the forms docker buildx takes, and a clear usage error for the rest.
#include <Poco/Base64Decoder.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "cli/cli_error.h"
#include "cli/secret_option.h"

namespace kiln::cli {
namespace {

std::string decoded(const Poco::JSON::Object::Ptr& secrets, const std::string& id) {
  std::istringstream in(secrets->getValue<std::string>(id));
  Poco::Base64Decoder decoder(in);
  return std::string(std::istreambuf_iterator<char>(decoder), {});
}

int usage_error(const std::vector<std::string>& items, std::string* message) {
  try {
    secrets_from_options(items);
  } catch (const CliError& e) {
    *message = e.what();
    return e.exit_code();
  }
  return 0;
}

TEST(SecretOption, FileEnvironmentAndShorthandForms) {
  const std::string file = ::testing::TempDir() + "/cli-secret";
  std::ofstream(file, std::ios::binary) << "from-file\n";
  setenv("KILN_TEST_SECRET_A", "from-env", 1);
  setenv("KILN_TEST_SECRET_B", "shorthand", 1);
  auto secrets =
      secrets_from_options({"id=f,src=" + file, "id=e,env=KILN_TEST_SECRET_A",
                            "id=KILN_TEST_SECRET_B", "type=env,id=t,src=KILN_TEST_SECRET_A"});
  EXPECT_EQ(secrets->size(), 4u);
  EXPECT_EQ(decoded(secrets, "f"), "from-file\n");
  EXPECT_EQ(decoded(secrets, "e"), "from-env");
  EXPECT_EQ(decoded(secrets, "KILN_TEST_SECRET_B"), "shorthand");
  EXPECT_EQ(decoded(secrets, "t"), "from-env");
}

TEST(SecretOption, MalformedItemsAreUsageErrorsNamingThem) {
  unsetenv("KILN_TEST_SECRET_UNSET");
  std::string message;
  EXPECT_EQ(usage_error({"src=/etc/hostname"}, &message), kExitUsage);
  EXPECT_NE(message.find("give id=NAME"), std::string::npos) << message;
  EXPECT_EQ(usage_error({"id=a,src=/no/such/file"}, &message), kExitUsage);
  EXPECT_NE(message.find("cannot read /no/such/file"), std::string::npos) << message;
  EXPECT_EQ(usage_error({"id=KILN_TEST_SECRET_UNSET"}, &message), kExitUsage);
  EXPECT_NE(message.find("$KILN_TEST_SECRET_UNSET is not set"), std::string::npos) << message;
  EXPECT_EQ(usage_error({"id=a,type=ssh"}, &message), kExitUsage);
  EXPECT_EQ(usage_error({"id=a,bogus"}, &message), kExitUsage);
  EXPECT_EQ(usage_error({"id=a,src=/etc/hostname", "id=a,src=/etc/hostname"}, &message),
            kExitUsage);
  EXPECT_NE(message.find("given twice"), std::string::npos) << message;
}

}  // namespace
}  // namespace kiln::cli
