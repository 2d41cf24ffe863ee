// `kiln build PATH`'s context: .dockerignore read as Docker reads it, and a pack that is the same
// bytes for the same tree.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli/cli_error.h"
#include "cli/commands.h"
#include "cli/context_pack.h"
#include "cli/dockerignore.h"
#include "oci/digest.h"
#include "support/process.h"
#include "support/servers.h"

namespace kiln::cli {
namespace {

namespace fs = std::filesystem;

TEST(CleanPath, AsGoPathCleanGivesIt) {
  EXPECT_EQ(clean_path("a//b/./c/"), "a/b/c");
  EXPECT_EQ(clean_path("./foo/../bar"), "bar");
  EXPECT_EQ(clean_path("/foo"), "/foo");
  EXPECT_EQ(clean_path("/../x"), "/x");
  EXPECT_EQ(clean_path("../x"), "../x");
  EXPECT_EQ(clean_path(""), ".");
  EXPECT_EQ(clean_path("a/.."), ".");
}

// The examples of Docker's .dockerignore documentation.
TEST(DockerIgnore, DockersDocumentedExamples) {
  const auto ignore = DockerIgnore::parse("# comment\n*/temp*\n*/*/temp*\ntemp?\n");
  EXPECT_TRUE(ignore.excluded("somedir/temporary.txt"));
  EXPECT_TRUE(ignore.excluded("somedir/temp"));
  EXPECT_FALSE(ignore.excluded("temporary.txt"));
  EXPECT_TRUE(ignore.excluded("somedir/subdir/temporary.txt"));
  EXPECT_TRUE(ignore.excluded("tempa"));
  EXPECT_FALSE(ignore.excluded("temp"));
  EXPECT_FALSE(ignore.excluded("# comment"));

  const auto markdown = DockerIgnore::parse("*.md\n!README*.md\nREADME-secret.md\n");
  EXPECT_TRUE(markdown.excluded("notes.md"));
  EXPECT_FALSE(markdown.excluded("README.md"));
  EXPECT_FALSE(markdown.excluded("README-public.md"));
  EXPECT_TRUE(markdown.excluded("README-secret.md"));
  EXPECT_TRUE(markdown.has_exceptions());
}

TEST(DockerIgnore, DoubleStarDirectoriesRootedPatternsAndEscapes) {
  const auto ignore = DockerIgnore::parse("**/*.go\n/build\n./out/../dist\nlogs/**\n\\*.txt\n");
  EXPECT_TRUE(ignore.excluded("main.go"));
  EXPECT_TRUE(ignore.excluded("a/b/c/main.go"));
  EXPECT_FALSE(ignore.excluded("main.gop"));
  EXPECT_TRUE(ignore.excluded("build"));
  EXPECT_TRUE(ignore.excluded("build/x/y.o"));  // below a matched directory
  EXPECT_FALSE(ignore.excluded("src/build"));
  EXPECT_TRUE(ignore.excluded("dist/app"));
  EXPECT_TRUE(ignore.excluded("logs/2026/01.log"));
  EXPECT_TRUE(ignore.excluded("*.txt"));
  EXPECT_FALSE(ignore.excluded("a.txt"));
  EXPECT_FALSE(ignore.has_exceptions());
}

TEST(DockerIgnore, AMalformedPatternIsAUsageErrorNamingItsLine) {
  try {
    DockerIgnore::parse("ok\n[unclosed\n");
    FAIL() << "no error";
  } catch (const CliError& e) {
    EXPECT_EQ(e.exit_code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find(".dockerignore:2"), std::string::npos) << e.what();
  }
}

TEST(IsLocalBuild, PathsAndStdinAreLocalProjectsAndOptionValuesAreNot) {
  EXPECT_TRUE(is_local_build({"-t", "127.0.0.1:5000/me/app", "."}));
  EXPECT_TRUE(is_local_build({"./app"}));
  EXPECT_TRUE(is_local_build({"-"}));
  EXPECT_TRUE(is_local_build({"--tag=127.0.0.1:5000/me/app", "/"}));
  EXPECT_FALSE(is_local_build({"demo", "--follow"}));
  EXPECT_FALSE(is_local_build({"--ref=refs/heads/main", "demo"}));
  EXPECT_FALSE(is_local_build({"--ref", "refs/heads/main", "demo"}));
  EXPECT_FALSE(is_local_build({"-f", "demo"}));
  EXPECT_FALSE(is_local_build({"--project", "tmp", "/tmp"}));
}

class ContextPackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::make_temp_dir("kiln-context-pack-test");
    dir_ = root_ + "/ctx";
    fs::create_directories(dir_ + "/src/deep");
    fs::create_directories(dir_ + "/node_modules/pkg");
    write("Dockerfile", "FROM scratch\nCOPY . /\n");
    write(".dockerignore", "node_modules\n*.log\n!keep.log\nbig.bin\nDockerfile\n");
    write("src/main.c", "int main(void) { return 0; }\n");
    write("src/deep/data.txt", std::string(100000, 'x'));
    write("run.sh", "#!/bin/sh\necho hi\n");
    chmod((dir_ + "/run.sh").c_str(), 0755);
    write("debug.log", "noise\n");
    write("keep.log", "kept\n");
    write("big.bin", std::string(1 << 20, 'b'));
    write("node_modules/pkg/index.js", "module.exports = 1;\n");
    fs::create_symlink("src/main.c", dir_ + "/main-link");
  }
  void TearDown() override { testing::remove_tree(root_); }

  void write(const std::string& path, const std::string& content) {
    std::ofstream(dir_ + "/" + path, std::ios::binary) << content;
  }

  std::string root_, dir_;
};

TEST_F(ContextPackTest, IgnoredPathsStayOutAndTheDockerfileAndDockerignoreStayIn) {
  const auto paths = context_paths(dir_, {});
  const std::vector<std::string> expected = {
      ".dockerignore", "Dockerfile", "keep.log",          "main-link", "run.sh",
      "src",           "src/deep",   "src/deep/data.txt", "src/main.c"};
  EXPECT_EQ(paths, expected);
}

TEST_F(ContextPackTest, SameTreeSameBytesWithModesAndLinksKept) {
  PackOptions options;
  std::int64_t last_done = -1, last_total = -1;
  options.progress = [&](std::int64_t done, std::int64_t total) {
    last_done = done;
    last_total = total;
  };
  const auto first = pack_context(dir_, root_ + "/a.tar.gz", options);
  EXPECT_EQ(first.files, 6);  // the link is no file
  EXPECT_EQ(last_done, last_total);
  EXPECT_EQ(last_total, first.file_bytes);
  EXPECT_LT(first.file_bytes, 1 << 20);  // big.bin is not in it
  EXPECT_EQ(first.digest, oci::sha256_file(root_ + "/a.tar.gz")->digest);

  // Other times on every file, packed again: the same archive.
  testing::must_run("find " + dir_ + " -exec touch -h -d '2001-02-03 04:05:06' {} +");
  const auto second = pack_context(dir_, root_ + "/b.tar.gz", {});
  EXPECT_EQ(second.digest, first.digest);
  EXPECT_EQ(second.archive_bytes, first.archive_bytes);

  const std::string listing = testing::must_run("tar -tvzf " + root_ + "/a.tar.gz");
  EXPECT_NE(listing.find("-rwxr-xr-x 0/0"), std::string::npos) << listing;
  EXPECT_NE(listing.find("main-link -> src/main.c"), std::string::npos) << listing;
  EXPECT_NE(listing.find("1970-01-01"), std::string::npos) << listing;
  EXPECT_EQ(listing.find("big.bin"), std::string::npos) << listing;
  EXPECT_EQ(listing.find("node_modules"), std::string::npos) << listing;

  // A changed file is another context.
  write("src/main.c", "int main(void) { return 1; }\n");
  EXPECT_NE(pack_context(dir_, root_ + "/c.tar.gz", {}).digest, first.digest);
}

TEST_F(ContextPackTest, TheSignatureChangesWithWhatWouldBePackedOnly) {
  const std::string first = context_signature(dir_, {});
  EXPECT_EQ(context_signature(dir_, {}), first);
  write("big.bin", "ignored, so no change");
  EXPECT_EQ(context_signature(dir_, {}), first);
  write("src/main.c", "int main(void) { return 2; }\n");
  EXPECT_NE(context_signature(dir_, {}), first);
}

TEST_F(ContextPackTest, NoSuchDirectoryIsAUsageError) {
  try {
    pack_context(root_ + "/missing", root_ + "/x.tar.gz", {});
    FAIL() << "no error";
  } catch (const CliError& e) {
    EXPECT_EQ(e.exit_code(), kExitUsage);
  }
}

}  // namespace
}  // namespace kiln::cli
