// Riding out a JetStream fail-over: transient errors are tried again within a window, others not.
#include <gtest/gtest.h>

#include <chrono>

#include "bus/retry.h"

namespace kiln::bus {
namespace {

using namespace std::chrono_literals;

TEST(RetryTransient, TriesAgainUntilTheElectionIsOver) {
  int calls = 0;
  auto result = retry_transient(5000ms, [&]() -> Result<int> {
    if (++calls < 3) return make_error(ErrorCode::kUnavailable, "no responders");
    return 42;
  });
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 42);
  EXPECT_EQ(calls, 3);
}

TEST(RetryTransient, AnErrorNoFailOverExplainsIsReturnedAtOnce) {
  int calls = 0;
  auto result = retry_transient(5000ms, [&]() -> Result<int> {
    ++calls;
    return make_error(ErrorCode::kFailedPrecondition, "wrong last sequence");
  });
  EXPECT_EQ(result.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(calls, 1);
}

TEST(RetryTransient, GivesUpWhenTheWindowHasPassed) {
  int calls = 0;
  const auto started = std::chrono::steady_clock::now();
  auto result = retry_transient(350ms, [&]() -> Result<int> {
    ++calls;
    return make_error(ErrorCode::kDeadlineExceeded, "timeout");
  });
  EXPECT_EQ(result.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(calls, 3);  // at 0, 100 and 300 ms; the next pause would pass the window
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

}  // namespace
}  // namespace kiln::bus
