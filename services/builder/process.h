// Runs a child process in its own process group and streams its output line by line, so that a
// cancel or a timeout can stop the child and everything it started (buildah forks helpers).
//
// Nothing a build starts outlives the builder, even after a kill -9 of the builder: the child
// dies with the builder (PR_SET_PDEATHSIG), and by default it is the first process (init) of a
// PID namespace of its own behind a small forwarding parent, so when it dies the kernel kills
// everything left in that namespace: the RUN step's shell, daemons it forked, processes that
// changed their process group or session. Where the namespace cannot be made (not root), the
// child runs without it and the process group is the bound.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "worker/cancel_flag.h"

namespace kiln::builder {

// Set from another thread (the cancel watcher) to stop a running child.
using CancelFlag = worker::CancelFlag;

enum class OutputStream { kStdout, kStderr };

struct ProcessOptions {
  std::vector<std::string> argv;
  std::string cwd;                               // empty: inherit
  std::map<std::string, std::string> extra_env;  // added to the inherited environment
  std::optional<std::chrono::steady_clock::time_point> deadline;
  const CancelFlag* cancel = nullptr;
  std::function<void(OutputStream, std::string_view)> on_line;  // without the newline
  std::chrono::milliseconds kill_grace{2000};                   // SIGTERM, then SIGKILL after this
  bool own_pid_namespace = true;                                // see above
  // A child that has not exec'd by then is killed and the call fails: a step must not hang
  // until its deadline on a child that never ran.
  std::chrono::milliseconds start_limit{30000};
};

struct ProcessResult {
  int exit_code = 0;  // 128 + signal when killed by a signal
  bool timed_out = false;
  bool cancelled = false;
};

// Runs the process to completion (or until it is stopped). Errors only when it cannot be
// started at all (kInternal naming the failing call); a failing exit code is a ProcessResult.
Result<ProcessResult> run_process(const ProcessOptions& options);

// Convenience for short commands: collects the output, no deadline unless given.
struct CapturedProcess {
  int exit_code = 0;
  std::string output;  // stdout and stderr interleaved, as lines
};
Result<CapturedProcess> capture_process(const std::vector<std::string>& argv,
                                        const std::string& cwd = {},
                                        std::chrono::seconds timeout = std::chrono::seconds(600),
                                        const std::map<std::string, std::string>& extra_env = {});

}  // namespace kiln::builder
