// Where a build's image goes: the spec's registry, repository and tags, checked and turned into
// the URLs of the pushed / succeeded events.
#include <gtest/gtest.h>

#include "pusher/push_job.h"
#include "pusher/push_target.h"

namespace kiln::pusher {
namespace {

events::v1::BuildSpec spec(const std::string& registry, const std::string& repository,
                           std::vector<std::string> tags = {}) {
  events::v1::BuildSpec s;
  s.set_registry(registry);
  s.set_image_repository(repository);
  for (auto& t : tags) s.add_tags(t);
  return s;
}

TEST(PushTarget, BuildsUrlsPerTagAndByDigest) {
  auto target = push_target(spec("127.0.0.1:5000", "team/app", {"v1", "latest"}));
  ASSERT_TRUE(target.ok()) << target.error().describe();
  EXPECT_EQ(target->repository_url(), "127.0.0.1:5000/team/app");
  EXPECT_EQ(target->tags, (std::vector<std::string>{"v1", "latest"}));
  EXPECT_EQ(target->tag_url("v1"), "127.0.0.1:5000/team/app:v1");
  EXPECT_EQ(target->digest_url("sha256:ab"), "127.0.0.1:5000/team/app@sha256:ab");
}

TEST(PushTarget, NoTagsMeansLatestAndDuplicatesAreDropped) {
  auto untagged = push_target(spec("registry.example.com", "app"));
  ASSERT_TRUE(untagged.ok());
  EXPECT_EQ(untagged->tags, std::vector<std::string>{"latest"});
  auto twice = push_target(spec("registry.example.com", "app", {"v1", "v1", "v2"}));
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->tags, (std::vector<std::string>{"v1", "v2"}));
}

TEST(PushTarget, RejectsMissingOrMalformedNamesNamingTheField) {
  struct Case {
    events::v1::BuildSpec spec;
    std::string field;
  };
  const std::vector<Case> cases = {
      {spec("", "team/app"), "spec.registry"},
      {spec("https://registry.example.com", "team/app"), "spec.registry"},
      {spec("registry.example.com/path", "team/app"), "spec.registry"},
      {spec("host:port", "team/app"), "spec.registry"},
      {spec("host:5000", ""), "spec.image_repository"},
      {spec("host:5000", "Team/App"), "spec.image_repository"},
      {spec("host:5000", "team/app:tag"), "spec.image_repository"},
      {spec("host:5000", "team/app", {"bad tag"}), "spec.tags"},
      {spec("host:5000", "team/app", {".dot"}), "spec.tags"},
  };
  for (const auto& c : cases) {
    auto target = push_target(c.spec);
    ASSERT_FALSE(target.ok()) << c.spec.ShortDebugString();
    EXPECT_EQ(target.error().code, ErrorCode::kInvalidArgument) << target.error().describe();
    EXPECT_NE(target.error().message.find(c.field), std::string::npos) << target.error().message;
  }
}

TEST(OneLine, FlattensLinesAndBoundsTheLength) {
  EXPECT_EQ(one_line("a\nb\r\nc\td"), "a b  c d");
  EXPECT_EQ(one_line(std::string(20, 'x'), 10), std::string(10, 'x') + "...");
}

}  // namespace
}  // namespace kiln::pusher
