// Streaming tar checks for uploaded build contexts (services/webhook-ingest/tar_validator.h).
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>

#include "tar_validator.h"

namespace kiln::webhook {
namespace {

// One ustar header block (with checksum) followed by the data, padded to 512 bytes.
std::string entry(const std::string& name, char type, const std::string& data = "",
                  const std::string& link = "") {
  std::string block(512, '\0');
  std::memcpy(&block[0], name.data(), std::min<size_t>(name.size(), 100));
  std::snprintf(&block[100], 8, "%07o", 0644);
  std::snprintf(&block[108], 8, "%07o", 0);
  std::snprintf(&block[116], 8, "%07o", 0);
  std::snprintf(&block[124], 12, "%011o", static_cast<unsigned>(data.size()));
  std::snprintf(&block[136], 12, "%011o", 0);
  block[156] = type;
  std::memcpy(&block[157], link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(&block[257], "ustar", 6);
  std::memcpy(&block[263], "00", 2);
  std::memset(&block[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : block) sum += c;
  std::snprintf(&block[148], 8, "%06o", sum);
  std::string padded = data;
  padded.resize((data.size() + 511) / 512 * 512, '\0');
  return block + padded;
}

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

// Feeds in small pieces, as a network stream would arrive.
Status check(const std::string& bytes, size_t piece = 7) {
  TarValidator tar;
  for (size_t i = 0; i < bytes.size(); i += piece) {
    if (Status s = tar.feed(std::string_view(bytes).substr(i, piece)); !s.ok()) return s;
  }
  return tar.finish();
}

TEST(WebhookTarTest, AcceptsAnOrdinaryContext) {
  const std::string tar =
      archive(entry("Dockerfile", '0', "FROM scratch\n") + entry("src/", '5') +
              entry("src/a.txt", '0', "hello") + entry("src/link", '2', "", "a.txt") +
              entry("up", '2', "", "src/../src/a.txt") + entry("hard", '1', "", "src/a.txt"));
  EXPECT_TRUE(check(tar).ok()) << check(tar).error().message;
  EXPECT_TRUE(check(tar, 4096).ok());
  TarValidator gz;
  ASSERT_TRUE(gz.feed(gzip(tar)).ok());
  EXPECT_TRUE(gz.finish().ok());
  EXPECT_EQ(gz.format(), "tar.gz");
  EXPECT_TRUE(check(gzip(tar), 3).ok());
}

TEST(WebhookTarTest, RejectsEscapes) {
  struct Case {
    std::string tar;
    std::string says;
  } cases[] = {
      {archive(entry("/etc/passwd", '0', "x")), "absolute"},
      {archive(entry("../evil", '0', "x")), "leaves"},
      {archive(entry("a/../../evil", '0', "x")), "leaves"},
      {archive(entry("a/../b", '0', "x")), ".."},
      {archive(entry("link", '2', "", "/etc/passwd")), "symbolic link"},
      {archive(entry("dir/link", '2', "", "../../etc")), "symbolic link"},
      {archive(entry("hard", '1', "", "../x")), "hard link"},
      {archive(entry("dev", '3')), "device"},
      {archive(entry("blk", '4')), "device"},
      {archive(entry("fifo", '6')), "FIFO"},
      {archive(entry("././@LongLink", 'L', std::string("../long\0", 8)) + entry("ok", '0', "x")),
       "leaves"},
      {archive(entry("pax", 'x', "19 path=/abs/olute\n") + entry("ok", '0', "x")), "absolute"},
      {archive(entry("pax", 'x', "21 path=/abs/olute\n") + entry("ok", '0', "x")), "malformed"},
  };
  for (const auto& c : cases) {
    Status s = check(c.tar);
    ASSERT_FALSE(s.ok()) << c.says;
    EXPECT_NE(s.error().message.find(c.says), std::string::npos) << s.error().message;
    EXPECT_FALSE(check(gzip(c.tar)).ok()) << c.says;
  }
}

TEST(WebhookTarTest, RejectsNonTarAndTruncation) {
  EXPECT_FALSE(check("Hello, World! this is not a tar archive at all").ok());
  EXPECT_FALSE(check(std::string(600, 'x')).ok());
  const std::string tar = archive(entry("Dockerfile", '0', std::string(2000, 'a')));
  EXPECT_FALSE(check(tar.substr(0, 1000)).ok()) << "cut inside the data";
  const std::string gz = gzip(tar);
  EXPECT_FALSE(check(gz.substr(0, gz.size() / 2)).ok()) << "truncated gzip";
  EXPECT_FALSE(check("").ok());
}

TEST(WebhookTarTest, StaysInside) {
  EXPECT_TRUE(stays_inside("", "a/b"));
  EXPECT_TRUE(stays_inside("a/b", "../c"));
  EXPECT_FALSE(stays_inside("a", "../../c"));
  EXPECT_FALSE(stays_inside("", "/a"));
}

}  // namespace
}  // namespace kiln::webhook
