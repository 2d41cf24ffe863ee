// Total deadlines on socket reads. A per-read timeout restarts with every byte, so a client
// trickling one byte every few seconds never trips it; here a watcher thread shuts the read side
// of the socket down when the deadline passes, which ends a blocked read at once (as end of input)
// however the bytes arrive and whoever reads them (Poco's chunked parser included).
#pragma once

#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace kiln::http {

class SocketDeadlines {
 public:
  using Clock = std::chrono::steady_clock;

 private:
  struct Entry {
    Poco::Net::StreamSocket socket;
    std::atomic<bool>* expired;
  };

 public:
  SocketDeadlines();
  ~SocketDeadlines();
  SocketDeadlines(const SocketDeadlines&) = delete;
  SocketDeadlines& operator=(const SocketDeadlines&) = delete;

  // While it lives, reading `socket` past `deadline` ends as if the client had stopped sending.
  // It must be gone before the socket is closed: a closed descriptor may be reused by then.
  class Guard {
   public:
    Guard(SocketDeadlines& owner, const Poco::Net::StreamSocket& socket,
          Clock::time_point deadline);
    ~Guard();
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    // True once the deadline cut the socket: a short read means "too slow", not "client done".
    bool expired() const { return expired_.load(); }

   private:
    SocketDeadlines& owner_;
    std::atomic<bool> expired_{false};
    std::multimap<Clock::time_point, Entry>::iterator entry_;  // erased by the watcher on expiry
  };

 private:
  void watch();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::multimap<Clock::time_point, Entry> entries_;  // earliest deadline first
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace kiln::http
