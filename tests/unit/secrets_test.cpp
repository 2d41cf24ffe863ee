// The sealing of build secrets: what seals opens with the same key and context only, and a
// tampered value never opens.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "secrets/build_secrets.h"
#include "secrets/sealing_key.h"
#include "secrets/secret_store.h"

namespace kiln::secrets {
namespace {

SealingKey key_of(unsigned char fill) {
  std::array<unsigned char, 32> bytes{};
  bytes.fill(fill);
  return SealingKey::from_bytes(bytes);
}

TEST(SealingKey, OpensWhatItSealedForTheSameContextOnly) {
  const SealingKey key = key_of(7);
  const std::string value = std::string("token-\0-binary", 14);
  const std::string sealed = key.seal(value, "build-1.tok");
  EXPECT_EQ(sealed.find("token"), std::string::npos);
  auto opened = key.open(sealed, "build-1.tok");
  ASSERT_TRUE(opened.ok()) << opened.error().describe();
  EXPECT_EQ(*opened, value);
  EXPECT_FALSE(key.open(sealed, "build-2.tok").ok());
  EXPECT_FALSE(key_of(8).open(sealed, "build-1.tok").ok());
  // Two seals of one value differ (a fresh nonce each time).
  EXPECT_NE(key.seal(value, "build-1.tok"), sealed);
}

TEST(SealingKey, RefusesATamperedOrShortValue) {
  const SealingKey key = key_of(1);
  std::string sealed = key.seal("value", "c");
  sealed[14] = static_cast<char>(sealed[14] ^ 1);
  auto opened = key.open(sealed, "c");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(key.open("short", "c").error().code, ErrorCode::kDataLoss);
  EXPECT_TRUE(key.open(key.seal("", "c"), "c").ok());
}

TEST(SealingKey, FileIsCreatedOnceOwnerOnlyAndLoads) {
  const std::string dir = ::testing::TempDir() + "/sealing-key";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/key";
  ASSERT_TRUE(SealingKey::create(path).ok());
  EXPECT_EQ(SealingKey::create(path).error().code, ErrorCode::kAlreadyExists);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto key = SealingKey::load(path);
  ASSERT_TRUE(key.ok()) << key.error().describe();
  EXPECT_EQ(*key->open(key->seal("x", "c"), "c"), "x");

  chmod(path.c_str(), 0644);
  auto loose = SealingKey::load(path);
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.error().message.find("chmod 600"), std::string::npos);

  std::ofstream(dir + "/short") << "abcd\n";
  chmod((dir + "/short").c_str(), 0600);
  EXPECT_EQ(SealingKey::load(dir + "/short").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(SealingKey::load(dir + "/missing").error().code, ErrorCode::kNotFound);
}

TEST(BuildSecrets, IdsAreWhatBuildahTakes) {
  EXPECT_TRUE(valid_secret_id("npm_token"));
  EXPECT_TRUE(valid_secret_id("A-1"));
  EXPECT_FALSE(valid_secret_id(""));
  EXPECT_FALSE(valid_secret_id("a,src=/etc/shadow"));
  EXPECT_FALSE(valid_secret_id("a.b"));
  EXPECT_FALSE(valid_secret_id("../x"));
  EXPECT_FALSE(valid_secret_id(std::string(65, 'a')));
}

TEST(SecretStore, ReadsTheTenantsOwnFilesByNameOnly) {
  const std::string dir = ::testing::TempDir() + "/secret-store";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/acme");
  std::ofstream(dir + "/acme/hook") << "acme-hook\n";
  const SecretStore store(dir);
  auto value = store.read("acme", "hook");
  ASSERT_TRUE(value.ok()) << value.error().describe();
  EXPECT_EQ(*value, "acme-hook");
  EXPECT_EQ(store.read("globex", "hook").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store.read("acme", "../acme/hook").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store.read("..", "hook").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store.read("a/b", "hook").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(SecretStore("").read("acme", "hook").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(store_ref_name("store:hook"), std::optional<std::string>("hook"));
  EXPECT_FALSE(store_ref_name("file:/etc/hook"));
}

}  // namespace
}  // namespace kiln::secrets
