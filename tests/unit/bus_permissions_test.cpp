// kiln's NATS users on paper: the credentials files and the authorization block. What the server
// makes of them is tested on a real nats-server in tests/security.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "bus/permissions.h"

namespace kiln::bus {
namespace {

class CredentialsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kiln-credentials-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(CredentialsFileTest, WrittenOwnerOnlyAndReadBack) {
  ASSERT_TRUE(write_credentials_file(path("nats-builder"), {"builder", "s3cret:with:colons"}).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path("nats-builder").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto read = read_credentials_file(path("nats-builder"));
  ASSERT_TRUE(read.ok()) << read.error().describe();
  EXPECT_EQ(read->user, "builder");
  EXPECT_EQ(read->password, "s3cret:with:colons");
}

TEST_F(CredentialsFileTest, RefusedWhenOthersMayReadItOrItIsMalformed) {
  ASSERT_TRUE(write_credentials_file(path("open"), {"builder", "pw"}).ok());
  std::filesystem::permissions(path("open"), std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  auto open = read_credentials_file(path("open"));
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(open.error().message.find("chmod 600"), std::string::npos);

  for (const std::string content : {"no-colon\n", ":password\n", "user:\n", ""}) {
    ASSERT_TRUE(write_credentials_file(path("bad"), {"x", "y"}).ok());
    std::ofstream(path("bad"), std::ios::trunc) << content;
    auto bad = read_credentials_file(path("bad"));
    ASSERT_FALSE(bad.ok()) << content;
    EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument) << content;
  }
  EXPECT_EQ(read_credentials_file(path("missing")).error().code, ErrorCode::kNotFound);
}

TEST(AuthorizationConfigTest, EveryUserWithItsPasswordAndNoUserWithout) {
  std::map<std::string, std::string> passwords;
  for (const auto& user : kiln_permissions()) passwords[user.user] = "pw-" + user.user;
  auto config = authorization_config(passwords);
  ASSERT_TRUE(config.ok());
  for (const auto& user : kiln_permissions()) {
    EXPECT_NE(config->find("user: \"" + user.user + "\"\n      password: \"pw-" + user.user + "\""),
              std::string::npos)
        << user.user;
  }
  EXPECT_EQ(kiln_permissions().size(), 6U);
  passwords.erase("pusher");
  auto missing = authorization_config(passwords);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("pusher"), std::string::npos);
}

TEST(AuthorizationConfigTest, PasswordsAreFreshAndQuotedSafely) {
  EXPECT_NE(random_password(), random_password());
  EXPECT_EQ(random_password().size(), 32U);
  std::map<std::string, std::string> passwords;
  for (const auto& user : kiln_permissions()) passwords[user.user] = "a\"b\\c";
  auto config = authorization_config(passwords);
  ASSERT_TRUE(config.ok());
  EXPECT_NE(config->find(R"(password: "a\"b\\c")"), std::string::npos);
}

}  // namespace
}  // namespace kiln::bus
