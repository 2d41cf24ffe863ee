#include "common/shutdown.h"

#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>

namespace kiln::shutdown {
namespace {

std::mutex g_mutex;
std::condition_variable g_cv;
bool g_requested = false;

}  // namespace

void install() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  std::thread([set] {
    int sig = 0;
    sigwait(&set, &sig);
    request();
  }).detach();
}

void request() {
  {
    std::lock_guard lock(g_mutex);
    g_requested = true;
  }
  g_cv.notify_all();
}

bool requested() {
  std::lock_guard lock(g_mutex);
  return g_requested;
}

void wait() {
  std::unique_lock lock(g_mutex);
  g_cv.wait(lock, [] { return g_requested; });
}

bool wait_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(g_mutex);
  return g_cv.wait_for(lock, timeout, [] { return g_requested; });
}

}  // namespace kiln::shutdown
