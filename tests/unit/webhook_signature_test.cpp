// Webhook signature checks on raw bytes (services/webhook-ingest/signature.h).
#include <gtest/gtest.h>

#include "common/ids.h"
#include "webhook-ingest/signature.h"

namespace kiln::webhook {
namespace {

constexpr char kSecret[] = "It's a Secret to Everybody";
constexpr char kBody[] = "Hello, World!";
constexpr char kExpected[] = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

TEST(WebhookSignatureTest, GithubKnownAnswerVector) {
  EXPECT_EQ(hmac_sha256_hex(kSecret, kBody), kExpected);
  EXPECT_TRUE(verify_github_signature(kSecret, std::string("sha256=") + kExpected, kBody));
}

TEST(WebhookSignatureTest, GithubRejectsEverythingElse) {
  const std::string good = std::string("sha256=") + kExpected;
  EXPECT_FALSE(verify_github_signature("wrong secret", good, kBody));
  EXPECT_FALSE(verify_github_signature(kSecret, "", kBody));
  EXPECT_FALSE(verify_github_signature(kSecret, kExpected, kBody)) << "prefix is required";
  EXPECT_FALSE(verify_github_signature(kSecret, "sha1=" + std::string(kExpected), kBody));
  EXPECT_FALSE(verify_github_signature(kSecret, good.substr(0, good.size() - 1), kBody));
  EXPECT_FALSE(verify_github_signature(kSecret, good + "0", kBody));
  std::string bad_hex = good;
  bad_hex.back() = 'g';
  EXPECT_FALSE(verify_github_signature(kSecret, bad_hex, kBody));
  EXPECT_FALSE(verify_github_signature(kSecret, good, "Hello, World! "));
  EXPECT_FALSE(verify_github_signature("", "sha256=" + hmac_sha256_hex("", kBody), kBody))
      << "an empty secret never authenticates";
}

TEST(WebhookSignatureTest, UpperCaseHexIsAccepted) {
  std::string upper = kExpected;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(verify_github_signature(kSecret, "sha256=" + upper, kBody));
}

TEST(WebhookSignatureTest, GiteaUsesBareHex) {
  EXPECT_TRUE(verify_gitea_signature(kSecret, kExpected, kBody));
  EXPECT_FALSE(verify_gitea_signature(kSecret, std::string("sha256=") + kExpected, kBody));
  EXPECT_FALSE(verify_gitea_signature("other", kExpected, kBody));
  EXPECT_FALSE(verify_gitea_signature(kSecret, "zz", kBody));
}

TEST(WebhookSignatureTest, GitlabTokenIsComparedWhole) {
  EXPECT_TRUE(verify_gitlab_token("s3cret-token", "s3cret-token"));
  EXPECT_FALSE(verify_gitlab_token("s3cret-token", "s3cret-toke"));
  EXPECT_FALSE(verify_gitlab_token("s3cret-token", "s3cret-token "));
  EXPECT_FALSE(verify_gitlab_token("s3cret-token", ""));
  EXPECT_FALSE(verify_gitlab_token("", ""));
}

}  // namespace
}  // namespace kiln::webhook
