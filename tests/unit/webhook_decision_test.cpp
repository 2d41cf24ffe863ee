// Which pushes build, and the `requested` event they become (services/webhook-ingest/
// push_decision.h, project_cache.h repository matching).
#include <gtest/gtest.h>

#include "webhook-ingest/project_cache.h"
#include "webhook-ingest/push_decision.h"

namespace kiln::webhook {
namespace {

project::Project demo() {
  project::Project p;
  p.name = "demo";
  p.tenant = "acme";
  p.repository_url = "https://git.example.com/acme/demo.git";
  p.repository_name = "acme/demo";
  p.image_repository = "acme/demo";
  p.branch_filters = {"main", "release/*"};
  p.tag_filters = {"v*"};
  p.concurrency = 3;
  p.max_queue_seconds = 600;
  return p;
}

PushEvent branch_push(const std::string& branch) {
  PushEvent push;
  push.ref = "refs/heads/" + branch;
  push.before = "1111111111111111111111111111111111111111";
  push.after = "abcdef1234567890abcdef1234567890abcdef12";
  push.commit_count = 1;
  push.changed_paths = {"src/app.cpp"};
  push.actor = "mona";
  push.author = "Mona";
  push.message = "change";
  return push;
}

TEST(WebhookDecisionTest, BranchFilters) {
  const auto p = demo();
  EXPECT_FALSE(ignore_reason(p, branch_push("main")));
  EXPECT_FALSE(ignore_reason(p, branch_push("release/1.0")));
  auto other = ignore_reason(p, branch_push("feature/x"));
  ASSERT_TRUE(other);
  EXPECT_NE(other->find("branch filters"), std::string::npos) << *other;
  EXPECT_TRUE(ignore_reason(p, branch_push("release/1.0/hotfix"))) << "* stops at /";
}

TEST(WebhookDecisionTest, DeletionsAndEmptyPushesAreIgnored) {
  const auto p = demo();
  auto deleted = branch_push("main");
  deleted.deleted = true;
  deleted.after = std::string(40, '0');
  ASSERT_TRUE(ignore_reason(p, deleted));
  EXPECT_NE(ignore_reason(p, deleted)->find("deleted"), std::string::npos);
  auto empty = branch_push("main");
  empty.commit_count = 0;
  ASSERT_TRUE(ignore_reason(p, empty));
  EXPECT_NE(ignore_reason(p, empty)->find("no commits"), std::string::npos);
}

TEST(WebhookDecisionTest, TagsFollowTagFiltersAndNeedNoCommits) {
  const auto p = demo();
  PushEvent tag = branch_push("x");
  tag.ref = "refs/tags/v1.2.3";
  tag.commit_count = 0;
  EXPECT_FALSE(ignore_reason(p, tag));
  tag.ref = "refs/tags/nightly";
  ASSERT_TRUE(ignore_reason(p, tag));
  EXPECT_NE(ignore_reason(p, tag)->find("tag filters"), std::string::npos);
  tag.ref = "refs/tags/v2";
  tag.deleted = true;
  EXPECT_TRUE(ignore_reason(p, tag));
}

TEST(WebhookDecisionTest, PathFilters) {
  auto p = demo();
  p.path_filters = {"src/**", "Dockerfile"};
  EXPECT_FALSE(ignore_reason(p, branch_push("main")));
  auto docs = branch_push("main");
  docs.changed_paths = {"docs/readme.md"};
  ASSERT_TRUE(ignore_reason(p, docs));
  EXPECT_NE(ignore_reason(p, docs)->find("path filters"), std::string::npos);
  docs.paths_complete = false;
  EXPECT_FALSE(ignore_reason(p, docs)) << "a truncated commit list cannot rule a push out";
}

TEST(WebhookDecisionTest, RequestedEventCarriesEverything) {
  const auto p = demo();
  const auto r = webhook_request(p, branch_push("main"), Provider::kGitlab, "uuid-1", "reg:5000");
  EXPECT_EQ(r.project(), "demo");
  EXPECT_EQ(r.tenant(), "acme");
  EXPECT_EQ(r.trigger().kind(), events::v1::Trigger::WEBHOOK);
  EXPECT_EQ(r.trigger().provider(), "gitlab");
  EXPECT_EQ(r.trigger().delivery_id(), "uuid-1");
  EXPECT_EQ(r.trigger().actor(), "mona");
  EXPECT_EQ(r.git().repo_url(), p.repository_url);
  EXPECT_EQ(r.git().ref(), "refs/heads/main");
  EXPECT_EQ(r.git().commit(), "abcdef1234567890abcdef1234567890abcdef12");
  EXPECT_EQ(r.git().author(), "Mona");
  EXPECT_TRUE(r.git().default_branch());
  EXPECT_EQ(r.spec().registry(), "reg:5000");
  EXPECT_EQ(r.spec().image_repository(), "acme/demo");
  EXPECT_EQ(std::vector<std::string>(r.spec().tags().begin(), r.spec().tags().end()),
            (std::vector<std::string>{"main", "latest", "sha-abcdef1"}));
  EXPECT_EQ(r.project_concurrency(), 3);
  EXPECT_EQ(r.max_queue_seconds(), 600);
}

TEST(WebhookDecisionTest, TagPolicy) {
  auto p = demo();
  auto release = webhook_request(p, branch_push("release/1.0"), Provider::kGithub, "d", "r");
  EXPECT_EQ(std::vector<std::string>(release.spec().tags().begin(), release.spec().tags().end()),
            (std::vector<std::string>{"release-1.0", "sha-abcdef1"}));
  EXPECT_FALSE(release.git().default_branch());
  PushEvent tag = branch_push("x");
  tag.ref = "refs/tags/v1.2.3";
  auto tagged = webhook_request(p, tag, Provider::kGithub, "d", "r");
  EXPECT_EQ(std::vector<std::string>(tagged.spec().tags().begin(), tagged.spec().tags().end()),
            (std::vector<std::string>{"v1.2.3", "sha-abcdef1"}));
  p.tag_policy.sha = false;
  p.tag_policy.latest_on_default = false;
  auto plain = webhook_request(p, branch_push("main"), Provider::kGithub, "d", "r");
  EXPECT_EQ(std::vector<std::string>(plain.spec().tags().begin(), plain.spec().tags().end()),
            (std::vector<std::string>{"main"}));
}

TEST(WebhookDecisionTest, RepositoryMatching) {
  EXPECT_EQ(normalize_repository("https://GitHub.com/Octo/Hello.git"), "github.com/octo/hello");
  EXPECT_EQ(normalize_repository("git@github.com:octo/hello.git"), "github.com/octo/hello");
  EXPECT_EQ(normalize_repository("ssh://git@github.com/octo/hello/"), "github.com/octo/hello");
  EXPECT_EQ(normalize_repository("ssh://git@host:2222/octo/hello"), "host:2222/octo/hello");
  auto by_url = demo();
  by_url.name = "b";
  by_url.repository_name.clear();
  auto other = demo();
  other.name = "c";
  other.repository_url = "https://git.example.com/acme/other.git";
  other.repository_name = "acme/other";
  const std::vector<project::Project> all{other, by_url, demo()};
  auto found = projects_for_repository(all, {"git@git.example.com:acme/demo.git"}, "");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].name, "b");
  EXPECT_EQ(found[1].name, "demo");
  auto by_name = projects_for_repository(all, {}, "ACME/Other");
  ASSERT_EQ(by_name.size(), 1u);
  EXPECT_EQ(by_name[0].name, "c");
  EXPECT_TRUE(projects_for_repository(all, {"https://x/y"}, "x/y").empty());
}

}  // namespace
}  // namespace kiln::webhook
