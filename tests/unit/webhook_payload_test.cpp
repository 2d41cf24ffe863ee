// Provider payload parsers (services/webhook-ingest/*_payload.cpp) on real payload shapes.
#include <gtest/gtest.h>

#include "webhook-ingest/push_event.h"

namespace kiln::webhook {
namespace {

const char kGithubPush[] = R"({
  "ref": "refs/heads/main",
  "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
  "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
  "created": false, "deleted": false, "forced": false,
  "repository": {
    "id": 1296269, "name": "hello", "full_name": "octo/hello",
    "html_url": "https://github.com/octo/hello",
    "clone_url": "https://github.com/octo/hello.git",
    "ssh_url": "git@github.com:octo/hello.git",
    "git_url": "git://github.com/octo/hello.git",
    "default_branch": "main"
  },
  "pusher": {"name": "monalisa", "email": "mona@example.com"},
  "sender": {"login": "monalisa", "id": 1},
  "commits": [
    {"id": "aaaaaaa", "message": "first", "author": {"name": "A"},
     "added": ["docs/a.md"], "removed": [], "modified": []},
    {"id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "message": "Fix the build\n\nbody",
     "author": {"name": "Mona Lisa", "username": "monalisa"},
     "added": [], "removed": ["old.c"], "modified": ["src/main.cpp", "docs/a.md"]}
  ],
  "head_commit": {"id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
                  "message": "Fix the build\n\nbody", "author": {"name": "Mona Lisa"}}
})";

TEST(WebhookPayloadTest, GithubPush) {
  auto push = parse_github_push(kGithubPush);
  ASSERT_TRUE(push.ok()) << push.error().describe();
  EXPECT_EQ(push->ref, "refs/heads/main");
  EXPECT_EQ(push->after, "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
  EXPECT_FALSE(push->deleted);
  EXPECT_EQ(push->repository_full_name, "octo/hello");
  EXPECT_EQ(push->repository_urls.front(), "https://github.com/octo/hello.git");
  EXPECT_EQ(push->actor, "monalisa");
  EXPECT_EQ(push->author, "Mona Lisa");
  EXPECT_EQ(push->message, "Fix the build");
  EXPECT_EQ(push->commit_count, 2u);
  EXPECT_EQ(push->changed_paths, (std::vector<std::string>{"docs/a.md", "src/main.cpp", "old.c"}));
}

TEST(WebhookPayloadTest, GithubDeletionAndTag) {
  auto deleted =
      parse_github_push(R"({"ref":"refs/heads/x","after":"0000000000000000000000000000000000000000",
    "deleted":true,"commits":[],"head_commit":null,"repository":{"full_name":"o/r"}})");
  ASSERT_TRUE(deleted.ok()) << deleted.error().describe();
  EXPECT_TRUE(deleted->deleted);
  EXPECT_EQ(deleted->commit_count, 0u);

  auto tag = parse_github_push(R"({"ref":"refs/tags/v1.2.3","after":"abcdef0123456789",
    "commits":[],"head_commit":{"id":"abcdef0123456789","message":"release","author":{"name":"R"}},
    "repository":{"full_name":"o/r"},"sender":{"login":"rel"}})");
  ASSERT_TRUE(tag.ok()) << tag.error().describe();
  EXPECT_EQ(tag->message, "release");
  EXPECT_EQ(tag->actor, "rel") << "sender.login when there is no pusher";
}

TEST(WebhookPayloadTest, MalformedAndMissingFieldsAreNamed) {
  auto bad = parse_github_push("Hello, World!");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().peer_code, "malformed_json");
  EXPECT_EQ(bad.error().message, "malformed JSON: line 1, column 1: unexpected byte 'H' in value");
  auto array = parse_github_push("[1,2]");
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(array.error().peer_code, "malformed_json");

  auto no_ref = parse_github_push(R"({"after":"abc","repository":{"full_name":"o/r"}})");
  ASSERT_FALSE(no_ref.ok());
  EXPECT_EQ(no_ref.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(no_ref.error().peer_code, "missing_field");
  EXPECT_EQ(no_ref.error().message, "ref: is required");

  auto no_repo = parse_github_push(R"({"ref":"refs/heads/a","after":"abc"})");
  ASSERT_FALSE(no_repo.ok());
  EXPECT_EQ(no_repo.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(no_repo.error().peer_code, "missing_field");
  EXPECT_EQ(no_repo.error().message.rfind("repository:", 0), 0u) << no_repo.error().message;

  auto wrong_type = parse_github_push(R"({"ref":1,"after":"abc","repository":{}})");
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_EQ(wrong_type.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(wrong_type.error().peer_code, "invalid_field");
  EXPECT_EQ(wrong_type.error().message, "ref: must be a string");

  auto bad_commit = parse_github_push(
      R"({"ref":"refs/heads/a","after":"abc","repository":{"full_name":"o/r"},"commits":[{"added":[3]}]})");
  ASSERT_FALSE(bad_commit.ok());
  EXPECT_EQ(bad_commit.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad_commit.error().message, "commits[0].added[0]: must be a string");
}

TEST(WebhookPayloadTest, GitlabPushHook) {
  auto push = parse_gitlab_push(R"({
    "object_kind": "push", "event_name": "push",
    "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
    "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
    "ref": "refs/heads/master", "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
    "user_name": "John Smith", "user_username": "jsmith",
    "project": {"id": 15, "name": "Diaspora", "web_url": "http://example.com/mike/diaspora",
      "git_ssh_url": "git@example.com:mike/diaspora.git",
      "git_http_url": "http://example.com/mike/diaspora.git",
      "path_with_namespace": "mike/diaspora", "default_branch": "master"},
    "repository": {"name": "Diaspora", "url": "git@example.com:mike/diaspora.git",
      "homepage": "http://example.com/mike/diaspora"},
    "commits": [
      {"id": "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", "message": "Update Catalan translation",
       "author": {"name": "Jordi Mallach"}, "added": ["CHANGELOG"], "modified": ["app/c.rb"], "removed": []},
      {"id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "message": "fixed readme\n",
       "author": {"name": "GitLab dev user"}, "added": [], "modified": ["README.md"], "removed": []}
    ],
    "total_commits_count": 4
  })");
  ASSERT_TRUE(push.ok()) << push.error().describe();
  EXPECT_EQ(push->actor, "jsmith");
  EXPECT_EQ(push->author, "GitLab dev user");
  EXPECT_EQ(push->message, "fixed readme");
  EXPECT_EQ(push->repository_full_name, "mike/diaspora");
  EXPECT_EQ(push->commit_count, 4u);
  EXPECT_FALSE(push->paths_complete) << "GitLab listed 2 of 4 commits";
}

TEST(WebhookPayloadTest, GitlabTagPushWithoutCommits) {
  auto push = parse_gitlab_push(R"({"object_kind":"tag_push","ref":"refs/tags/v1.0.0",
    "before":"0000000000000000000000000000000000000000","after":"82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
    "user_username":"jsmith","project":{"path_with_namespace":"jsmith/example",
    "git_http_url":"http://example.com/jsmith/example.git"},"commits":[],"total_commits_count":0})");
  ASSERT_TRUE(push.ok()) << push.error().describe();
  EXPECT_FALSE(push->deleted);
  EXPECT_EQ(push->commit_count, 0u);
  auto missing = parse_gitlab_push(R"({"ref":"refs/heads/a","after":"abc"})");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(missing.error().peer_code, "missing_field");
  EXPECT_EQ(missing.error().message, "project: is required");
}

TEST(WebhookPayloadTest, GiteaPush) {
  auto push = parse_gitea_push(R"({
    "ref": "refs/heads/develop", "before": "28e1879d029cb852e4844d9c718537df08844e03",
    "after": "bffeb74224043ba2feb48d137756c8a9331c449a",
    "compare_url": "http://localhost:3000/gitea/webhooks/compare/28e1879...bffeb74",
    "commits": [{"id": "bffeb74224043ba2feb48d137756c8a9331c449a", "message": "Webhooks Yay!",
      "url": "http://localhost:3000/gitea/webhooks/commit/bffeb74",
      "author": {"name": "Gitea", "email": "someone@gitea.io", "username": "gitea"},
      "added": ["a.txt"], "removed": [], "modified": []}],
    "total_commits": 1,
    "repository": {"id": 140, "name": "webhooks", "full_name": "gitea/webhooks",
      "html_url": "http://localhost:3000/gitea/webhooks",
      "clone_url": "http://localhost:3000/gitea/webhooks.git",
      "ssh_url": "git@localhost:gitea/webhooks.git", "default_branch": "master"},
    "pusher": {"id": 1, "login": "gitea", "full_name": "Gitea", "username": "gitea"},
    "sender": {"id": 1, "login": "gitea"}
  })");
  ASSERT_TRUE(push.ok()) << push.error().describe();
  EXPECT_EQ(push->actor, "gitea");
  EXPECT_EQ(push->message, "Webhooks Yay!");
  EXPECT_EQ(push->author, "Gitea");
  EXPECT_EQ(push->changed_paths, std::vector<std::string>{"a.txt"});
  EXPECT_TRUE(push->paths_complete);
}

TEST(WebhookPayloadTest, BitbucketPushIsOneEventPerChangedRef) {
  // Trimmed from Atlassian's repo:push example: a branch moved, a tag created, a branch deleted.
  auto pushes = parse_bitbucket_push(R"({
    "actor": {"type": "user", "display_name": "Emma", "nickname": "emma"},
    "repository": {"type": "repository", "full_name": "team/repo", "name": "repo",
      "links": {"html": {"href": "https://bitbucket.org/team/repo"}}},
    "push": {"changes": [
      {"new": {"type": "branch", "name": "main",
         "target": {"type": "commit", "hash": "709d658dc5b6d6afcd46049c2f332ee3f515a67d",
           "message": "Fix the build\n\ndetails", "author": {"raw": "Emma <emma@example.com>"}}},
       "old": {"type": "branch", "name": "main",
         "target": {"type": "commit", "hash": "1e65c05c1d5171631d92438a13901ca7dae9618c"}},
       "created": false, "forced": false, "closed": false, "truncated": true,
       "commits": [{"hash": "709d658dc5b6d6afcd46049c2f332ee3f515a67d"}, {"hash": "abc"}]},
      {"new": {"type": "tag", "name": "v2.0",
         "target": {"type": "commit", "hash": "709d658dc5b6d6afcd46049c2f332ee3f515a67d",
           "message": "Fix the build", "author": {"raw": "Emma <emma@example.com>",
           "user": {"display_name": "Emma Stone"}}}},
       "old": null, "created": true, "closed": false, "commits": []},
      {"new": null,
       "old": {"type": "branch", "name": "old-feature",
         "target": {"type": "commit", "hash": "1e65c05c1d5171631d92438a13901ca7dae9618c"}},
       "created": false, "closed": true}
    ]}
  })");
  ASSERT_TRUE(pushes.ok()) << pushes.error().describe();
  ASSERT_EQ(pushes->size(), 3U);
  const PushEvent& branch = (*pushes)[0];
  EXPECT_EQ(branch.ref, "refs/heads/main");
  EXPECT_EQ(branch.after, "709d658dc5b6d6afcd46049c2f332ee3f515a67d");
  EXPECT_EQ(branch.before, "1e65c05c1d5171631d92438a13901ca7dae9618c");
  EXPECT_FALSE(branch.deleted);
  EXPECT_EQ(branch.message, "Fix the build");
  EXPECT_EQ(branch.author, "Emma");
  EXPECT_EQ(branch.actor, "emma");
  EXPECT_EQ(branch.commit_count, 2U);
  EXPECT_EQ(branch.repository_full_name, "team/repo");
  EXPECT_EQ(branch.repository_urls, std::vector<std::string>{"https://bitbucket.org/team/repo"});
  EXPECT_FALSE(branch.paths_complete) << "Bitbucket lists no files";

  const PushEvent& tag = (*pushes)[1];
  EXPECT_EQ(tag.ref, "refs/tags/v2.0");
  EXPECT_TRUE(is_null_sha(tag.before));
  EXPECT_EQ(tag.author, "Emma Stone");

  const PushEvent& gone = (*pushes)[2];
  EXPECT_EQ(gone.ref, "refs/heads/old-feature");
  EXPECT_TRUE(gone.deleted);
  EXPECT_TRUE(is_null_sha(gone.after));
}

TEST(WebhookPayloadTest, BitbucketPushRefusesWhatItCannotBuildFrom) {
  const std::string repository =
      R"("repository": {"full_name": "team/repo"}, "actor": {"nickname": "emma"})";
  auto no_changes = parse_bitbucket_push("{" + repository + R"(, "push": {"changes": []}})");
  ASSERT_FALSE(no_changes.ok());
  EXPECT_EQ(no_changes.error().peer_code, "missing_field");
  EXPECT_EQ(no_changes.error().message, "push.changes: is required");

  auto bookmark =
      parse_bitbucket_push("{" + repository +
                           R"(, "push": {"changes": [{"new": {"type": "bookmark", "name": "b",
         "target": {"hash": "709d658dc5b6d6afcd46049c2f332ee3f515a67d"}}}]}})");
  ASSERT_FALSE(bookmark.ok());
  EXPECT_EQ(bookmark.error().peer_code, "invalid_field");
  EXPECT_NE(bookmark.error().message.find("push.changes[0].new.type"), std::string::npos)
      << bookmark.error().message;

  auto no_ref = parse_bitbucket_push("{" + repository + R"(, "push": {"changes": [{}]}})");
  ASSERT_FALSE(no_ref.ok());
  EXPECT_EQ(no_ref.error().peer_code, "missing_field");

  auto no_repository = parse_bitbucket_push(R"({"push": {"changes": []}})");
  ASSERT_FALSE(no_repository.ok());
  EXPECT_EQ(no_repository.error().message, "repository: is required");
}

TEST(WebhookPayloadTest, HostileInputsNeverCrash) {
  for (const char* body : {"", "{", "null", "\"x\"", "{\"ref\":null,\"after\":null}",
                           "{\"ref\":\"r\",\"after\":\"a\",\"repository\":[]}",
                           "{\"ref\":\"r\",\"after\":\"a\",\"repository\":{\"full_name\":\"o/r\"},"
                           "\"commits\":{}}",
                           "{\"ref\":\"r\",\"after\":\"a\",\"repository\":{\"full_name\":\"o/r\"},"
                           "\"total_commits\":1e400}"}) {
    bool all_ok = true;
    for (const auto& parsed :
         {parse_github_push(body), parse_gitea_push(body), parse_gitlab_push(body)}) {
      if (parsed.ok()) continue;
      all_ok = false;
      EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << body;
    }
    EXPECT_FALSE(all_ok) << body;
    auto bitbucket = parse_bitbucket_push(body);
    ASSERT_FALSE(bitbucket.ok()) << body;
    EXPECT_EQ(bitbucket.error().code, ErrorCode::kInvalidArgument) << body;
  }
  std::string deep(100000, '[');
  auto parsed = parse_github_push(deep);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parsed.error().peer_code, "malformed_json");
}

}  // namespace
}  // namespace kiln::webhook
