// Staging tags: the time a tag names is read back; tags kiln did not make are never taken for
// staged images (the sweep deletes by that time).
#include <gtest/gtest.h>

#include "oci/reference.h"
#include "registry/staging.h"

namespace kiln::registry {
namespace {

TEST(StagingTag, NamesBuildAttemptAndTimeAndReadsTheTimeBack) {
  const std::string tag =
      staging_tag("0b7c6a2e-5f1d-4c7e-9a51-3f3e2d1c0b9a", 3, 1796500000, "a1b2c3d4");
  EXPECT_EQ(tag, "0b7c6a2e-5f1d-4c7e-9a51-3f3e2d1c0b9a-a3-1796500000-a1b2c3d4");
  EXPECT_TRUE(oci::is_valid_tag(tag));
  EXPECT_EQ(staged_at(tag), 1796500000);
}

TEST(StagingTag, ABuildIdThatIsNoTagIsHashed) {
  const std::string tag = staging_tag("team/app:weird id", 1, 42, "ffff0000");
  EXPECT_TRUE(oci::is_valid_tag(tag)) << tag;
  EXPECT_EQ(tag.find("team"), std::string::npos);
  EXPECT_EQ(staged_at(tag), 42);
  EXPECT_NE(staging_tag("team/app:weird id", 1, 42, "x"),
            staging_tag("team/app:other", 1, 42, "x"));
}

TEST(StagingTag, OtherTagsHaveNoTime) {
  for (const char* tag : {"latest", "1.2.3", "v-1-2", "build-a-17-x", "x-a1--y", "x-a-12-y",
                          "x-a1-12a-y", "-a1-12-"}) {
    EXPECT_EQ(staged_at(tag), std::nullopt) << tag;
  }
}

}  // namespace
}  // namespace kiln::registry
