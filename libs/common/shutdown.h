// Clean shutdown on SIGTERM/SIGINT: install() blocks both signals in the calling thread (call it in
// main before starting threads, so every thread inherits the mask) and a watcher thread flips the
// flag. Long loops poll requested(); main blocks in wait().
#pragma once

#include <chrono>

namespace kiln::shutdown {

void install();
bool requested();
// Blocks until a signal arrives or request() is called.
void wait();
// Waits up to `timeout`; returns true when shutdown was requested.
bool wait_for(std::chrono::milliseconds timeout);
void request();

}  // namespace kiln::shutdown
