#include "http/deadlines.h"

namespace kiln::http {

SocketDeadlines::SocketDeadlines() : watcher_([this] { watch(); }) {}

SocketDeadlines::~SocketDeadlines() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  watcher_.join();
}

SocketDeadlines::Guard::Guard(SocketDeadlines& owner, const Poco::Net::StreamSocket& socket,
                              Clock::time_point deadline)
    : owner_(owner) {
  bool earliest = false;
  {
    std::lock_guard lock(owner_.mutex_);
    entry_ = owner_.entries_.emplace(deadline, Entry{socket, &expired_});
    earliest = entry_ == owner_.entries_.begin();
  }
  // Later deadlines are found when the watcher wakes for the earlier ones.
  if (earliest) owner_.changed_.notify_one();
}

SocketDeadlines::Guard::~Guard() {
  std::lock_guard lock(owner_.mutex_);
  if (!expired_.load()) owner_.entries_.erase(entry_);
}

void SocketDeadlines::watch() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (entries_.empty()) {
      changed_.wait(lock);
      continue;
    }
    const auto first = entries_.begin();
    if (const Clock::time_point due = first->first; Clock::now() < due) {
      changed_.wait_until(lock, due);  // a copy: the entry may be gone while this waits
      continue;
    }
    // Marked first: the reader woken by the shutdown must already see why its input ended.
    first->second.expired->store(true);
    // Under the lock: the guard cannot be gone, so the socket is still open.
    try {
      first->second.socket.shutdownReceive();
    } catch (...) {
      // Already shut down or reset by the client: the read ends anyway.
    }
    entries_.erase(first);
  }
}

}  // namespace kiln::http
