// Uploaded build contexts checked and unpacked by libs/archive (libarchive underneath).
#include "archive/context_archive.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "support/tar.h"

namespace kiln::archive {
namespace {

using testing::tar_entry;

std::string archive(const std::string& entries) { return entries + std::string(1024, '\0'); }

std::string gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Yields the bytes in small pieces, as a network stream would arrive.
Result<ContextSummary> check(const std::string& bytes, size_t piece = 7,
                             const ContextLimits& limits = {}) {
  size_t at = 0;
  return check_context(
      [&]() -> Result<std::string_view> {
        const auto next = std::string_view(bytes).substr(std::min(at, bytes.size()), piece);
        at += next.size();
        return next;
      },
      limits);
}

std::string error_of(const Result<ContextSummary>& r) { return r.ok() ? "" : r.error().message; }

TEST(ContextArchiveTest, AcceptsAnOrdinaryContext) {
  const std::string tar = archive(
      tar_entry("Dockerfile", '0', "FROM scratch\n") + tar_entry("src/", '5') +
      tar_entry("src/a.txt", '0', "hello") + tar_entry("src/link", '2', "", "a.txt") +
      tar_entry("up", '2', "", "src/../src/a.txt") + tar_entry("hard", '1', "", "src/a.txt"));
  auto plain = check(tar);
  ASSERT_TRUE(plain.ok()) << error_of(plain);
  EXPECT_EQ(plain->format, "tar");
  EXPECT_EQ(plain->entries, 6u);
  EXPECT_EQ(plain->unpacked_bytes, 18u);
  EXPECT_TRUE(check(tar, 4096).ok());
  auto gz = check(gzip(tar), 1 << 20);
  ASSERT_TRUE(gz.ok()) << error_of(gz);
  EXPECT_EQ(gz->format, "tar.gz");
  EXPECT_TRUE(check(gzip(tar), 3).ok());
}

TEST(ContextArchiveTest, RejectsEscapes) {
  struct Case {
    std::string tar;
    std::string says;
  } cases[] = {
      {archive(tar_entry("/etc/passwd", '0', "x")), "absolute"},
      {archive(tar_entry("../evil", '0', "x")), "leaves"},
      {archive(tar_entry("a/../../evil", '0', "x")), "leaves"},
      {archive(tar_entry("a/../b", '0', "x")), "'..'"},
      // Each link stays inside on its own; the second is made through the first.
      {archive(tar_entry("a/", '5') + tar_entry("a/b", '2', "", "..") +
               tar_entry("a/b/c", '2', "", "..")),
       "goes through the symbolic link a/b"},
      {archive(tar_entry("l", '2', "", "sub") + tar_entry("l/x", '0', "x")), "goes through"},
      {archive(tar_entry("link", '2', "", "/etc/passwd")), "symbolic link"},
      {archive(tar_entry("dir/link", '2', "", "../../etc")), "symbolic link"},
      {archive(tar_entry("hard", '1', "", "../x")), "hard link"},
      {archive(tar_entry("dev", '3')), "device"},
      {archive(tar_entry("blk", '4')), "device"},
      {archive(tar_entry("fifo", '6')), "FIFO"},
      {archive(tar_entry("././@LongLink", 'L', std::string("../long\0", 8)) +
               tar_entry("ok", '0', "x")),
       "leaves"},
      {archive(tar_entry("pax", 'x', "19 path=/abs/olute\n") + tar_entry("ok", '0', "x")),
       "absolute"},
      {archive(tar_entry("pax", 'x', "21 path=/abs/olute\n") + tar_entry("ok", '0', "x")), "entry"},
  };
  for (const auto& c : cases) {
    auto s = check(c.tar);
    ASSERT_FALSE(s.ok()) << c.says;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument) << s.error().describe();
    EXPECT_NE(s.error().message.find(c.says), std::string::npos) << s.error().message;
    auto gz = check(gzip(c.tar));
    ASSERT_FALSE(gz.ok()) << c.says;
    EXPECT_EQ(gz.error().code, ErrorCode::kInvalidArgument) << gz.error().describe();
  }
}

TEST(ContextArchiveTest, RejectsNonTarAndTruncation) {
  const std::string tar = archive(tar_entry("Dockerfile", '0', std::string(2000, 'a')));
  const std::string gz = gzip(tar);
  const struct {
    std::string bytes;
    std::string what;
  } cases[] = {
      {"Hello, World! this is not a tar archive at all", "text"},
      {std::string(600, 'x'), "a block of garbage"},
      {tar.substr(0, 1000), "cut inside the data"},
      {gz.substr(0, gz.size() / 2), "truncated gzip"},
      {"", "nothing"},
  };
  for (const auto& c : cases) {
    auto s = check(c.bytes);
    ASSERT_FALSE(s.ok()) << c.what;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument)
        << c.what << ": " << s.error().describe();
  }
}

TEST(ContextArchiveTest, LimitsCountEntriesAndUnpackedBytesNotCompressedSize) {
  ContextLimits limits;
  limits.max_entries = 2;
  const std::string three =
      archive(tar_entry("a", '0', "1") + tar_entry("b", '0', "2") + tar_entry("c", '0', "3"));
  auto too_many = check(three, 512, limits);
  ASSERT_FALSE(too_many.ok());
  // A context over a limit breaks a rule like any other (422, not 429 at the HTTP boundary).
  EXPECT_EQ(too_many.error().code, ErrorCode::kInvalidArgument) << too_many.error().describe();
  EXPECT_NE(too_many.error().message.find("more than 2 entries"), std::string::npos);
  // 8 MiB of zeros compress to a few KiB: refused by what they unpack to.
  limits = {};
  limits.max_unpacked_bytes = 1 << 20;
  const std::string bomb = gzip(archive(tar_entry("zeros", '0', std::string(8 << 20, '\0'))));
  ASSERT_LT(bomb.size(), 64u << 10);
  auto bomb_checked = check(bomb, 4096, limits);
  ASSERT_FALSE(bomb_checked.ok());
  EXPECT_EQ(bomb_checked.error().code, ErrorCode::kInvalidArgument)
      << bomb_checked.error().describe();
  EXPECT_NE(bomb_checked.error().message.find("unpacks to more than"), std::string::npos);
}

TEST(ContextArchiveTest, ReadsTheSourceToItsEndAndPassesItsErrorThrough) {
  // GNU tar pads to 10 KiB records: the bytes after the end marker are part of the upload.
  const std::string tar = archive(tar_entry("f", '0', "x")) + std::string(8192, '\0');
  size_t at = 0, calls_after_end = 0;
  auto summary = check_context(
      [&]() -> Result<std::string_view> {
        if (at >= tar.size()) ++calls_after_end;
        auto next = std::string_view(tar).substr(std::min(at, tar.size()), 100);
        at += next.size();
        return next;
      },
      {});
  ASSERT_TRUE(summary.ok()) << error_of(summary);
  EXPECT_EQ(at, tar.size());
  EXPECT_EQ(calls_after_end, 1u);
  auto failing = check_context(
      []() -> Result<std::string_view> {
        return make_error(ErrorCode::kUnavailable, "the store went away");
      },
      {});
  ASSERT_FALSE(failing.ok());
  EXPECT_EQ(failing.error().code, ErrorCode::kUnavailable) << failing.error().describe();
  EXPECT_EQ(failing.error().message, "the store went away") << "passed through unchanged";
}

class ExtractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("kiln-extract-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "ctx");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  Result<ContextSummary> extract(const std::string& bytes,
                                 const std::function<std::optional<std::string>()>& stop = {}) {
    const auto file = root_ / "context.tar";
    std::ofstream(file, std::ios::binary) << bytes;
    return extract_context(file.string(), (root_ / "ctx").string(), {}, stop);
  }
  std::filesystem::path root_;
};

TEST_F(ExtractTest, UnpacksFilesDirectoriesAndLinksInsideTheContext) {
  const std::string tar =
      archive(tar_entry("Dockerfile", '0', "FROM scratch\n") + tar_entry("src/", '5') +
              tar_entry("src/a.txt", '0', "hello") + tar_entry("src/link", '2', "", "a.txt") +
              tar_entry("hard", '1', "", "src/a.txt"));
  auto done = extract(gzip(tar));
  ASSERT_TRUE(done.ok()) << error_of(done);
  EXPECT_EQ(done->format, "tar.gz");
  std::ifstream in(root_ / "ctx/src/link");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "hello");
  EXPECT_TRUE(std::filesystem::is_symlink(root_ / "ctx/src/link"));
  EXPECT_EQ(std::filesystem::hard_link_count(root_ / "ctx/hard"), 2u);
}

TEST_F(ExtractTest, RefusesALinkChainThatClimbsOutAndWritesNothingOutside) {
  const std::string tar =
      archive(tar_entry("a/", '5') + tar_entry("a/b", '2', "", "..") +
              tar_entry("a/b/c", '2', "", "..") + tar_entry("a/b/c/escaped", '0', "out"));
  auto done = extract(tar);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, ErrorCode::kInvalidArgument) << done.error().describe();
  EXPECT_NE(done.error().message.find("goes through the symbolic link"), std::string::npos)
      << done.error().message;
  EXPECT_FALSE(std::filesystem::exists(root_ / "escaped"));
  EXPECT_FALSE(std::filesystem::exists(root_.parent_path() / "escaped"));
}

TEST_F(ExtractTest, StopsWhenAskedWithItsReason) {
  auto done = extract(archive(tar_entry("f", '0', "x")), [] { return std::string("cancelled"); });
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, ErrorCode::kCancelled) << done.error().describe();
  EXPECT_EQ(done.error().message, "cancelled");
}

TEST(ContextArchiveTest, StaysInside) {
  EXPECT_TRUE(stays_inside("", "a/b"));
  EXPECT_TRUE(stays_inside("a/b", "../c"));
  EXPECT_FALSE(stays_inside("a", "../../c"));
  EXPECT_FALSE(stays_inside("", "/a"));
}

}  // namespace
}  // namespace kiln::archive
