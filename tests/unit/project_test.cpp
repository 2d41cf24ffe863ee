#include "project/project.h"

#include <gtest/gtest.h>

namespace kiln::project {
namespace {

constexpr char kMinimal[] = R"({"name":"demo","repository_url":"file:///srv/demo.git"})";

TEST(ProjectTest, MinimalProjectGetsDefaults) {
  auto p = parse_project(kMinimal);
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(p->image_repository, "kiln/demo");
  EXPECT_EQ(p->default_branch, "main");
  EXPECT_EQ(p->dockerfile, "Dockerfile");
  EXPECT_EQ(p->concurrency, 2);
  auto again = parse_project(to_json(*p));
  ASSERT_TRUE(again.ok()) << again.error().describe();
  EXPECT_EQ(to_json(*again), to_json(*p));
}

TEST(ProjectTest, SecretReferenceIsHiddenOnRequest) {
  auto p = parse_project(
      R"({"name":"demo","repository_url":"file:///x","webhook_secret_ref":"env:DEMO_SECRET"})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(to_json(*p, false).find("DEMO_SECRET"), std::string::npos);
  EXPECT_NE(to_json(*p, false).find("\"webhook_secret_set\":true"), std::string::npos);
}

struct BadCase {
  const char* json;
  const char* message_start;
};

TEST(ProjectTest, StoreReferencesReachTheBuildSpecAsNamesOnly) {
  auto p = parse_project(R"({"name":"demo","repository_url":"https://example.com/x.git",
    "webhook_secret_ref":"store:hook","secrets":["npm_token"],
    "git_credentials_ref":"store:git","git_ssh_key_ref":"store:deploy_key"})");
  ASSERT_TRUE(p.ok()) << p.error().describe();
  const auto spec = build_spec(*p, "r:5000");
  ASSERT_EQ(spec.store_secrets_size(), 1);
  EXPECT_EQ(spec.store_secrets(0), "npm_token");
  EXPECT_EQ(spec.git_credentials_ref(), "store:git");
  EXPECT_EQ(spec.git_ssh_key_ref(), "store:deploy_key");
  auto again = parse_project(to_json(*p, true));
  ASSERT_TRUE(again.ok()) << again.error().describe();
  EXPECT_EQ(again->secrets, p->secrets);
  EXPECT_EQ(again->git_ssh_key_ref, "store:deploy_key");
}

TEST(ProjectTest, InvalidProjectsNameTheField) {
  const BadCase cases[] = {
      {R"({"name":"Demo!","repository_url":"file:///x"})", "name:"},
      {R"({"name":"demo"})", "repository_url: is required"},
      {R"({"name":"demo","repository_url":"ftp://x"})", "repository_url:"},
      {R"({"name":"demo","repository_url":"file:///x","image_repository":"Bad/Name"})",
       "image_repository:"},
      {R"({"name":"demo","repository_url":"file:///x","registry":"no spaces allowed"})",
       "registry:"},
      {R"({"name":"demo","repository_url":"file:///x","schedules":[{"cron":"61 * * * *"}]})",
       "schedules[0].cron: minute"},
      {R"({"name":"demo","repository_url":"file:///x","schedules":[{"cron":"@daily","timezone":"Mars/Olympus"}]})",
       "schedules[0].timezone:"},
      {R"({"name":"demo","repository_url":"file:///x","branch_filters":["[main"]})",
       "branch_filters[0]:"},
      {R"({"name":"demo","repository_url":"file:///x","concurency":3})",
       "concurency: unknown field"},
      {R"({"name":"demo","repository_url":"file:///x","concurrency":"3"})",
       "concurrency: must be an integer"},
      {R"({"name":"demo","repository_url":"file:///x","tag_policy":{"shaa":true}})",
       "tag_policy.shaa: unknown field"},
      {R"({"name":"demo","repository_url":"file:///x","webhook_secret_ref":"hunter2"})",
       "webhook_secret_ref:"},
      {R"({"name":"demo","repository_url":"file:///x","dockerfile":"../Dockerfile"})",
       "dockerfile:"},
      {R"({"name":"demo","repository_url":"file:///x","secrets":["ok","../etc/shadow"]})",
       "secrets[1]:"},
      {R"({"name":"demo","repository_url":"file:///x","git_credentials_ref":"file:/root/.netrc"})",
       "git_credentials_ref: must be store:NAME"},
      {R"({"name":"demo","repository_url":"file:///x","git_ssh_key_ref":"store:a/b"})",
       "git_ssh_key_ref:"},
      {R"({"name":"demo","repository_url":"file:///x","webhook_secret_ref":"store:"})",
       "webhook_secret_ref:"},
      {R"([1,2])", "malformed JSON: the top level is not an object"},
      {R"({"name":)", "malformed JSON: line 1, column 9: unexpected end of text"},
  };
  for (const auto& c : cases) {
    auto p = parse_project(c.json);
    ASSERT_FALSE(p.ok()) << c.json;
    EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(p.error().message.rfind(c.message_start, 0), 0u)
        << c.json << " gave: " << p.error().message;
  }
}

TEST(GlobTest, BranchTagAndPathFilters) {
  EXPECT_TRUE(glob_match("main", "main"));
  EXPECT_FALSE(glob_match("main", "maint"));
  EXPECT_TRUE(glob_match("release/*", "release/1.0"));
  EXPECT_FALSE(glob_match("release/*", "release/1.0/hotfix"));
  EXPECT_TRUE(glob_match("release/**", "release/1.0/hotfix"));
  EXPECT_TRUE(glob_match("v*", "v1.2.3"));
  EXPECT_FALSE(glob_match("v*", "1.2.3"));
  EXPECT_TRUE(glob_match("*", "feature"));
  EXPECT_FALSE(glob_match("*", "feature/x"));
  EXPECT_TRUE(glob_match("**/*.go", "cmd/app/main.go"));
  EXPECT_TRUE(glob_match("**/*.go", "main.go"));
  EXPECT_TRUE(glob_match("src/?.c", "src/a.c"));
  EXPECT_TRUE(glob_match("v[0-9]*", "v2"));
  EXPECT_FALSE(glob_match("v[0-9]*", "vx"));
  EXPECT_TRUE(matches_any({"main", "release/*"}, "release/2"));
}

TEST(TagPolicyTest, TagsFollowThePolicy) {
  auto p = parse_project(kMinimal);
  ASSERT_TRUE(p.ok());
  const std::string sha = "0123456789abcdef0123456789abcdef01234567";
  EXPECT_EQ(tags_for(*p, "refs/heads/main", sha),
            (std::vector<std::string>{"main", "latest", "sha-0123456"}));
  EXPECT_EQ(tags_for(*p, "refs/heads/Feature/Login_v2", sha),
            (std::vector<std::string>{"feature-login_v2", "sha-0123456"}));
  EXPECT_EQ(tags_for(*p, "refs/tags/v1.2.3", sha),
            (std::vector<std::string>{"v1.2.3", "sha-0123456"}));
  p->tag_policy.sha = false;
  p->tag_policy.branch = false;
  p->tag_policy.latest_on_default = false;
  EXPECT_EQ(tags_for(*p, "refs/heads/dev", sha), (std::vector<std::string>{"latest"}));
}

TEST(NamesTest, OciNameRules) {
  EXPECT_TRUE(valid_repository_path("kiln/demo"));
  EXPECT_TRUE(valid_repository_path("a/b-c/d__e.f"));
  EXPECT_FALSE(valid_repository_path("Kiln/demo"));
  EXPECT_FALSE(valid_repository_path("kiln//demo"));
  EXPECT_FALSE(valid_repository_path("-kiln"));
  EXPECT_TRUE(valid_tag("v1.2.3"));
  EXPECT_FALSE(valid_tag(".hidden"));
  EXPECT_FALSE(valid_tag(std::string(129, 'a')));
  EXPECT_TRUE(valid_registry_host("127.0.0.1:5000"));
  EXPECT_TRUE(valid_registry_host("ghcr.io"));
  EXPECT_FALSE(valid_registry_host("http://ghcr.io"));
}

}  // namespace
}  // namespace kiln::project
