// tenants.image-prefixes and sources.local-tenants, as webhook-ingest reads and applies them.
#include <gtest/gtest.h>

#include "webhook-ingest/tenant_policy.h"

namespace kiln::webhook {
namespace {

TEST(TenantPolicy, NoPrefixesHoldNobody) {
  auto policy = TenantPolicy::parse({}, {"default"}, {"default"});
  ASSERT_TRUE(policy.ok());
  EXPECT_FALSE(policy->image_refusal("anyone", "r:5000", "x/y"));
}

TEST(TenantPolicy, PrefixesMatchWholePathSegments) {
  auto policy = TenantPolicy::parse({"a=r:5000/team", "a=other.io", "b=r:5000/b/"}, {}, {});
  ASSERT_TRUE(policy.ok()) << policy.error().describe();
  EXPECT_FALSE(policy->image_refusal("a", "r:5000", "team"));
  EXPECT_FALSE(policy->image_refusal("a", "r:5000", "team/app"));
  EXPECT_FALSE(policy->image_refusal("a", "other.io", "anything/at/all"));
  EXPECT_TRUE(policy->image_refusal("a", "r:5000", "teamster/app")) << "a prefix is a path";
  EXPECT_FALSE(policy->image_refusal("b", "r:5000", "b/app"));
  auto refused = policy->image_refusal("b", "r:5000", "team/app");
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("it may push to r:5000/b/*"), std::string::npos) << *refused;
  auto unknown = policy->image_refusal("c", "r:5000", "c/app");
  ASSERT_TRUE(unknown);
  EXPECT_NE(unknown->find("no registry"), std::string::npos) << *unknown;
  EXPECT_FALSE(policy->image_refusal("*", "r:5000", "team/app")) << "the global admin";
}

TEST(TenantPolicy, MalformedEntriesAreStartupErrors) {
  EXPECT_FALSE(TenantPolicy::parse({"nohost"}, {}, {}).ok());
  EXPECT_FALSE(TenantPolicy::parse({"=r:5000/x"}, {}, {}).ok());
  EXPECT_FALSE(TenantPolicy::parse({"a=r:5000/UPPER"}, {}, {}).ok());
}

TEST(TenantPolicy, HostLocalSourcesOnlyForListedTenants) {
  EXPECT_TRUE(is_host_local_url("file:///srv/repo"));
  EXPECT_TRUE(is_host_local_url("http://127.0.0.1:3000/x.git"));
  EXPECT_TRUE(is_host_local_url("https://user@LOCALHOST/x.git"));
  EXPECT_TRUE(is_host_local_url("ssh://git@[::1]:22/x.git"));
  EXPECT_FALSE(is_host_local_url("https://github.com/octo/hello.git"));
  EXPECT_FALSE(is_host_local_url("ssh://git@gitlab.example.com/x.git"));
  auto policy = TenantPolicy::parse({}, {"default"}, {"default"});
  ASSERT_TRUE(policy.ok());
  EXPECT_FALSE(policy->source_refusal("default", "file:///srv/repo"));
  EXPECT_FALSE(policy->source_refusal("*", "file:///srv/repo"));
  EXPECT_FALSE(policy->source_refusal("other", "https://github.com/octo/hello.git"));
  auto refused = policy->source_refusal("other", "file:///srv/repo");
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("sources.local-tenants"), std::string::npos) << *refused;
}

TEST(TenantPolicy, ServerSecretReferencesOnlyForListedTenants) {
  auto policy = TenantPolicy::parse({}, {}, {"default"});
  ASSERT_TRUE(policy.ok());
  EXPECT_FALSE(policy->secret_ref_refusal("default", "env:HOOK_SECRET"));
  EXPECT_FALSE(policy->secret_ref_refusal("other", "store:hook"));
  EXPECT_FALSE(policy->secret_ref_refusal("*", "file:/etc/hook"));
  auto refused = policy->secret_ref_refusal("other", "file:/etc/shadow");
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("store:NAME"), std::string::npos) << *refused;
  EXPECT_TRUE(policy->secret_ref_refusal("other", "env:KILN_SECRETS_KEY_FILE"));
}

}  // namespace
}  // namespace kiln::webhook
