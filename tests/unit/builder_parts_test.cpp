// The builder's pure parts: buildah output parsing, secret masking, Dockerfile scanning and the
// safety rules for uploaded archives.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "builder/dockerfile_scan.h"
#include "builder/failure.h"
#include "builder/git_source.h"
#include "builder/secret_masker.h"
#include "builder/step_parser.h"
#include "builder/upload_source.h"

namespace kiln::builder {
namespace {

TEST(StepParserTest, StepsAcrossStagesWithCacheAndCommit) {
  StepParser parser(7);
  std::vector<StepEvent> events;
  auto feed = [&](const std::string& line, std::int64_t at) {
    for (auto& e : parser.feed(line, at)) events.push_back(e);
  };
  feed("[1/2] STEP 1/2: FROM 127.0.0.1:5000/kiln/busybox AS base", 0);
  feed("[1/2] STEP 2/2: RUN echo hi", 10);
  feed("--> Using cache 07ba636123e50698541b27d471faf2196013a176b9ea578151954f1d41097342", 12);
  feed("--> 07ba636123e", 13);
  feed("[2/2] STEP 1/3: FROM 5680627993ce AS final", 20);
  feed("hi", 21);
  feed("[2/2] STEP 2/3: RUN make", 30);
  feed("[2/2] STEP 3/3: COPY a b", 50);
  feed("[2/2] COMMIT localhost/x", 70);
  ASSERT_EQ(events.size(), 10u);
  EXPECT_EQ(events[0].kind, StepEvent::Kind::kStarted);
  EXPECT_EQ(events[0].step, 1);
  EXPECT_EQ(events[0].total, 7);
  EXPECT_EQ(events[0].instruction, "FROM 127.0.0.1:5000/kiln/busybox AS base");
  // step 2 ends when stage 2 starts, cached
  EXPECT_EQ(events[3].kind, StepEvent::Kind::kFinished);
  EXPECT_EQ(events[3].step, 2);
  EXPECT_TRUE(events[3].cached);
  EXPECT_EQ(events[3].duration_ms, 10);
  EXPECT_EQ(events.back().kind, StepEvent::Kind::kFinished);
  EXPECT_EQ(events.back().step, 5);
  EXPECT_FALSE(events.back().cached);
  EXPECT_EQ(events.back().duration_ms, 20);
  EXPECT_EQ(parser.steps_seen(), 5);
  EXPECT_EQ(parser.steps_cached(), 1);
  EXPECT_FALSE(parser.finish(80).has_value());
}

TEST(StepParserTest, SingleStageWithoutHintCountsTheStage) {
  StepParser parser;
  auto started = parser.feed("STEP 1/3: FROM x", 0);
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].total, 3);
  EXPECT_TRUE(parser.feed("some output STEP 9/9: not a step line", 1).empty());
  auto next = parser.feed("STEP 2/3: RUN false", 5);
  ASSERT_EQ(next.size(), 2u);
  auto last = parser.finish(9);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->step, 2);
  EXPECT_EQ(last->duration_ms, 4);
}

TEST(SecretMaskerTest, MasksEveryOccurrenceAndEachLineOfMultiLineValues) {
  SecretMasker masker({"hunter22", "line-one\nline-two", "ab"});
  EXPECT_EQ(masker.mask("pw=hunter22 again hunter22"), "pw=*** again ***");
  EXPECT_EQ(masker.mask("x line-two y"), "x *** y");
  EXPECT_EQ(masker.mask("ab stays: too short to mask"), "ab stays: too short to mask");
  EXPECT_TRUE(SecretMasker().mask("plain") == "plain");
}

TEST(SecretMaskerTest, MasksThePercentEncodedValueInEitherCase) {
  SecretMasker masker({"p@ss word/42"});
  EXPECT_EQ(masker.mask("https://u:p%40ss%20word%2F42@host/x"), "https://u:***@host/x");
  EXPECT_EQ(masker.mask("token=p%40ss%20word%2f42&x=1"), "token=***&x=1");
}

TEST(SecretMaskerTest, LongerValueWinsOverAContainedShorterOne) {
  SecretMasker masker({"token", "token-extended"});
  EXPECT_EQ(masker.mask("token-extended"), "***");
}

TEST(SecretMaskerTest, MasksTheBase64OfAValueAtEveryAlignment) {
  const std::string secret = "s3cr3t-Value-42";
  SecretMasker masker({secret});
  // `base64 file` of the value alone, and of the value after 1 and 2 other bytes.
  EXPECT_EQ(masker.mask("czNjcjN0LVZhbHVlLTQy").find("czNjcjN0"), std::string::npos);
  for (const std::string& input : {secret + "\n", "x" + secret, "xy" + secret, "xyz" + secret}) {
    std::string encoded(((input.size() + 2) / 3) * 4 + 1, '\0');
    EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                    reinterpret_cast<const unsigned char*>(input.data()),
                    static_cast<int>(input.size()));
    encoded.resize(encoded.size() - 1);
    const std::string masked = masker.mask("out: " + encoded);
    EXPECT_NE(masked.find("***"), std::string::npos) << input << " -> " << encoded;
    // What remains visible is at most the few characters that mix in the neighbouring bytes.
    EXPECT_LE(masked.size(), std::string("out: ***").size() + 8) << masked;
  }
}

TEST(SecretMaskerTest, MasksAValuePrintedAcrossLines) {
  SecretMasker masker({"abcdefghijklmnop"});
  // fold -w 5
  EXPECT_EQ(masker.mask("abcde"), "***");
  EXPECT_EQ(masker.mask("fghij"), "***");
  EXPECT_EQ(masker.mask("klmno"), "***");
  // A line that ends with the value's beginning, and one that starts with its end.
  EXPECT_EQ(masker.mask("token: abcdefgh"), "token: ***");
  EXPECT_EQ(masker.mask("ijklmnop (end)"), "*** (end)");
  // Ordinary text keeps its short coincidences.
  EXPECT_EQ(masker.mask("the abc of it"), "the abc of it");
  EXPECT_EQ(masker.mask("nop"), "nop");
}

TEST(DockerfileScanTest, BaseImagesSkipStagesScratchAndExpandArgs) {
  const auto scan = scan_dockerfile(
      "# syntax comment\n"
      "ARG BASE=reg:5000/kiln/busybox\n"
      "FROM ${BASE} AS build\n"
      "RUN echo a \\\n  && echo b\n"
      "FROM build AS test\n"
      "RUN true\n"
      "FROM scratch\n"
      "COPY --from=build /x /x\n",
      {{"BASE", "127.0.0.1:5000/kiln/busybox"}}, "");
  EXPECT_EQ(scan.base_images, std::vector<std::string>{"127.0.0.1:5000/kiln/busybox"});
  EXPECT_EQ(scan.instructions, 6);
}

TEST(DockerfileScanTest, TargetStopsTheCount) {
  const auto scan = scan_dockerfile("FROM a/b AS one\nRUN x\nFROM c/d AS two\nRUN y\n", {}, "one");
  EXPECT_EQ(scan.instructions, 2);
  EXPECT_EQ(scan.base_images, std::vector<std::string>{"a/b"});
}

TEST(GitSourceTest, CredentialsGoIntoHttpUrlsOfTheirHostOnly) {
  GitAuth auth;
  auth.credentials = {{"git.example.com", "bot:tok123"}};
  EXPECT_EQ(authenticated_url("https://git.example.com/a/b.git", auth),
            "https://bot:tok123@git.example.com/a/b.git");
  EXPECT_EQ(authenticated_url("https://other.example.com/a.git", auth),
            "https://other.example.com/a.git");
  EXPECT_EQ(authenticated_url("file:///srv/repo", auth), "file:///srv/repo");
}

TEST(FailureTest, ReasonIsOneLineAndPrefersErrors) {
  OutputTail tail;
  tail.add("fatal: couldn't find remote ref refs/heads/x");
  tail.add("fatal: Could not read from remote repository.");
  tail.add("Please make sure you have the correct access rights");
  EXPECT_EQ(tail.reason(""), "fatal: Could not read from remote repository.");
  EXPECT_EQ(tail.first_error(""), "fatal: couldn't find remote ref refs/heads/x");
  EXPECT_EQ(one_line("a\nb"), "a b");
  // A long chained error keeps its cause at the end.
  const std::string chained =
      "Error: pushing image " + std::string(400, 'x') + ": write /a/b: no space left on device";
  const std::string cut = one_line(chained);
  EXPECT_LE(cut.size(), 300u);
  EXPECT_EQ(cut.rfind("Error: pushing image", 0), 0u) << cut;
  EXPECT_NE(cut.find("no space left on device"), std::string::npos) << cut;
}

TEST(FailureTest, AFailedRunStepIsExplainedByItsLastLine) {
  OutputTail tail;
  tail.add("STEP 1/2: FROM base");
  tail.add("from the first step");
  tail.add("STEP 2/2: RUN head -c 200000000 /dev/zero > /big");
  tail.add("head: write error: No space left on device");
  tail.add("error building at STEP \"RUN head\": exit status 1");
  tail.add("Error: building at STEP \"RUN head -c 200000000 /dev/zero > /big\": exit status 1");
  EXPECT_EQ(tail.reason(""),
            "Error: building at STEP \"RUN head -c 200000000 /dev/zero > /big\": exit status 1 "
            "(the step's last line: head: write error: No space left on device)");
  // A step that printed nothing: no line of an earlier step is borrowed.
  OutputTail silent;
  silent.add("from the first step");
  silent.add("STEP 2/2: RUN false");
  silent.add("Error: building at STEP \"RUN false\": exit status 1");
  EXPECT_EQ(silent.reason(""), "Error: building at STEP \"RUN false\": exit status 1");
}

}  // namespace
}  // namespace kiln::builder
