// The opaque pagination cursor and the SSE resume position of kiln-analytics.
#include <gtest/gtest.h>

#include "analytics/cursor.h"
#include "analytics/live_stream.h"
#include "analytics/projection.h"

namespace kiln::analytics {
namespace {

TEST(AnalyticsCursorTest, RoundTrips) {
  const BuildCursor cursor{1795996800123, "0b6f-4c1e|weird:id"};
  const std::string text = encode_cursor(cursor);
  EXPECT_EQ(
      text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos)
      << "cursor must be URL-safe: " << text;
  auto decoded = decode_cursor(text);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, cursor);
}

TEST(AnalyticsCursorTest, RejectsAnythingElse) {
  EXPECT_FALSE(decode_cursor("").has_value());
  EXPECT_FALSE(decode_cursor("not a cursor!").has_value());
  EXPECT_FALSE(decode_cursor("OTl8YWI").has_value());  // "99|ab": no version prefix
  EXPECT_FALSE(decode_cursor(std::string(500, 'A')).has_value());
}

TEST(AnalyticsSseTest, PositionsRoundTripAndRejectGarbage) {
  const StreamPosition p{17, 42};
  EXPECT_EQ(format_position(p), "17:42");
  EXPECT_EQ(parse_position("17:42"), p);
  EXPECT_FALSE(parse_position("17").has_value());
  EXPECT_FALSE(parse_position(":4").has_value());
  EXPECT_FALSE(parse_position("a:4").has_value());
  EXPECT_FALSE(parse_position("1:-4").has_value());
}

TEST(AnalyticsSseTest, FrameFormat) {
  EXPECT_EQ(sse_frame({3, 9}, "log", "{\"n\":9}"), "id: 3:9\nevent: log\ndata: {\"n\":9}\n\n");
}

TEST(AnalyticsProjectionTest, StatusRanksOnlyMoveForward) {
  EXPECT_LT(status_rank("requested"), status_rank("queued"));
  EXPECT_LT(status_rank("queued"), status_rank("dispatched"));
  EXPECT_LT(status_rank("dispatched"), status_rank("building"));
  EXPECT_LT(status_rank("building"), status_rank("pushing"));
  EXPECT_LT(status_rank("pushing"), status_rank("succeeded"));
  EXPECT_EQ(status_rank("failed"), status_rank("cancelled"));
  EXPECT_EQ(status_rank("nonsense"), -1);
}

}  // namespace
}  // namespace kiln::analytics
