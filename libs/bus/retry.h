// Riding out a JetStream fail-over. When the node leading a stream dies, the cluster answers
// "no responders" or times out for a few seconds (3 to 7 s seen on 3 nodes) until a new leader
// is elected; a publish or read tried once in that window fails although the next would work.
// Every kiln publish carries a Nats-Msg-Id, so trying again after a timeout cannot store twice.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/result.h"

namespace kiln::bus {

// Whether an error is one a fail-over or a reconnect explains (worth trying again).
inline bool is_transient(const Error& error) {
  return error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kDeadlineExceeded;
}

// Calls `operation` until it succeeds, fails with an error that is not transient, or `window`
// has passed since the first call; waits 100 ms after the first failure, doubling up to 1 s.
// Returns the last result.
template <typename Operation>
auto retry_transient(std::chrono::milliseconds window, Operation&& operation) {
  const auto deadline = std::chrono::steady_clock::now() + window;
  auto pause = std::chrono::milliseconds(100);
  while (true) {
    auto result = operation();
    if (result.ok() || !is_transient(result.error())) return result;
    if (std::chrono::steady_clock::now() + pause > deadline) return result;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(1000));
  }
}

}  // namespace kiln::bus
