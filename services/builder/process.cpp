#include "builder/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

namespace kiln::builder {
namespace {

using Clock = std::chrono::steady_clock;

Error errno_error(const std::string& call) {
  return make_error(ErrorCode::kInternal, call + ": " + std::strerror(errno));
}

// Splits a pipe's bytes into lines; keeps the unfinished tail for the next read.
class LineBuffer {
 public:
  template <typename Emit>
  void feed(const char* data, std::size_t size, Emit emit) {
    pending_.append(data, size);
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
      emit(std::string_view(pending_).substr(start, nl - start));
    }
    pending_.erase(0, start);
    // A child printing megabytes without a newline (progress bars) must not grow us unbounded.
    if (pending_.size() > 64 * 1024) {
      emit(std::string_view(pending_));
      pending_.clear();
    }
  }
  template <typename Emit>
  void finish(Emit emit) {
    if (!pending_.empty()) emit(std::string_view(pending_));
    pending_.clear();
  }

 private:
  std::string pending_;
};

// Everything the child needs, made before fork: after fork the child of a multi-threaded
// process may only make async-signal-safe calls. An allocation there can deadlock for good on a
// lock another thread held at the fork (ASan's allocator has no fork handler: a build then hung
// until its timeout with no output), so nothing below fork allocates.
struct ChildPlan {
  std::string executable;  // resolved through PATH; empty when not found
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::string cwd;
  bool own_pid_namespace = true;
  pid_t parent = 0;
};

std::string resolve_executable(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start);
    candidate = (candidate.empty() ? "." : candidate) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

ChildPlan plan_child(const ProcessOptions& options) {
  ChildPlan plan;
  plan.executable = resolve_executable(options.argv[0]);
  plan.argv_storage = options.argv;
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [key, value] : options.extra_env) env[key] = value;
  for (const auto& [key, value] : env) plan.env_storage.push_back(key + "=" + value);
  for (auto& arg : plan.argv_storage) plan.argv.push_back(arg.data());
  plan.argv.push_back(nullptr);
  for (auto& entry : plan.env_storage) plan.envp.push_back(entry.data());
  plan.envp.push_back(nullptr);
  plan.cwd = options.cwd;
  plan.own_pid_namespace = options.own_pid_namespace;
  plan.parent = getpid();
  return plan;
}

void write_message(const char* text) {
  const ssize_t ignored = write(2, text, std::strlen(text));
  (void)ignored;
}

// The forwarding parent's one piece of state, for its signal handler.
volatile pid_t namespace_init = 0;

void forward_signal(int signal) {
  if (namespace_init > 0) kill(namespace_init, signal);
}

// In the forked child: makes a new PID namespace and forks its first process, which returns from
// here to exec the command. The calling process stays behind as the namespace's parent: it
// forwards SIGTERM/SIGINT/SIGHUP (a cancel) to the command and exits with its status. Both die
// with their parent. `started_fd` (the exec-status pipe) is closed here, since this process never
// execs and would keep the parent waiting.
void enter_own_pid_namespace(int started_fd) {
  if (unshare(CLONE_NEWPID) != 0) {
    write_message("kiln: no PID namespace for this step; it is bounded by its process group\n");
    return;
  }
  const pid_t init = fork();
  if (init < 0) {
    write_message("kiln: fork failed\n");
    _exit(127);
  }
  if (init == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    return;
  }
  namespace_init = init;
  close(started_fd);
  struct sigaction forward {};
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  for (int signal : {SIGTERM, SIGINT, SIGHUP}) sigaction(signal, &forward, nullptr);
  for (int fd = 0; fd < 3; ++fd) close(fd);
  int status = 0;
  while (waitpid(init, &status, 0) < 0) {
    if (errno != EINTR) _exit(127);
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

// Async-signal-safe calls only (see ChildPlan). `started_fd` is close-on-exec: the parent sees
// EOF once the command runs.
[[noreturn]] void exec_child(const ChildPlan& plan, int out_fd, int err_fd, int started_fd) {
  setpgid(0, 0);
  // Dies with the builder; the parent may already be gone by the time this is set.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != plan.parent) _exit(127);
  // The service blocks SIGTERM in every thread (kiln::shutdown) and ignores SIGPIPE; a child
  // inherits both, and buildah must die on our SIGTERM.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  const int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, 0);
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  if (plan.own_pid_namespace) enter_own_pid_namespace(started_fd);
  if (!plan.cwd.empty() && chdir(plan.cwd.c_str()) != 0) {
    write_message("kiln: cannot change to the working directory\n");
    _exit(127);
  }
  if (plan.executable.empty()) {
    write_message("kiln: command not found: ");
    write_message(plan.argv[0]);
    write_message("\n");
    _exit(127);
  }
  execve(plan.executable.c_str(), plan.argv.data(), plan.envp.data());
  write_message("kiln: exec failed: ");
  write_message(plan.argv[0]);
  write_message("\n");
  _exit(127);
}

// Waits until the child has exec'd (the close-on-exec pipe reaches EOF). False when it has not
// within `limit`: a child stuck before exec would otherwise hold the step until its deadline.
bool wait_started(int started_fd, std::chrono::milliseconds limit) {
  pollfd fd{started_fd, POLLIN, 0};
  const auto deadline = Clock::now() + limit;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    const int ready = poll(&fd, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return false;
    if (ready < 0) return true;  // cannot tell; the output loop and the deadline still bound it
    char byte;
    const ssize_t n = read(started_fd, &byte, 1);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return true;
  }
}

}  // namespace

Result<ProcessResult> run_process(const ProcessOptions& options) {
  if (options.argv.empty()) return make_error(ErrorCode::kInvalidArgument, "empty argv");
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return errno_error("pipe2");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return errno_error("pipe2");
  }
  int started_pipe[2];
  if (pipe2(started_pipe, O_CLOEXEC) != 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return errno_error("pipe2");
  }
  const ChildPlan plan = plan_child(options);
  const pid_t pid = fork();
  if (pid < 0) {
    for (int fd :
         {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], started_pipe[0], started_pipe[1]}) {
      close(fd);
    }
    return errno_error("fork");
  }
  if (pid == 0) exec_child(plan, out_pipe[1], err_pipe[1], started_pipe[1]);
  // Both sides set the group, so a kill right after fork reaches the child either way.
  setpgid(pid, pid);
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(started_pipe[1]);
  const bool started = wait_started(started_pipe[0], options.start_limit);
  close(started_pipe[0]);
  if (!started) {
    kill(-pid, SIGKILL);
    int ignored = 0;
    while (waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
    }
    close(out_pipe[0]);
    close(err_pipe[0]);
    return make_error(ErrorCode::kInternal, options.argv[0] + " did not start within " +
                                                std::to_string(options.start_limit.count()) +
                                                " ms");
  }

  ProcessResult result;
  LineBuffer buffers[2];
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  std::optional<Clock::time_point> sigkill_at;
  auto emit_for = [&](int index) {
    const OutputStream stream = index == 0 ? OutputStream::kStdout : OutputStream::kStderr;
    return [&options, stream](std::string_view line) {
      if (options.on_line) options.on_line(stream, line);
    };
  };
  auto stop_group = [&]() {
    if (sigkill_at) return;
    kill(-pid, SIGTERM);
    sigkill_at = Clock::now() + options.kill_grace;
  };

  char chunk[16 * 1024];
  while (open_fds > 0) {
    const int ready = poll(fds, 2, 50);
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
      if (n > 0) {
        buffers[i].feed(chunk, static_cast<std::size_t>(n), emit_for(i));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        buffers[i].finish(emit_for(i));
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
    if (!result.cancelled && !result.timed_out) {
      if (options.cancel && options.cancel->cancelled()) {
        result.cancelled = true;
        stop_group();
      } else if (options.deadline && Clock::now() >= *options.deadline) {
        result.timed_out = true;
        stop_group();
      }
    }
    if (sigkill_at && Clock::now() >= *sigkill_at) kill(-pid, SIGKILL);
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }

  int status = 0;
  // The pipes are closed by everyone in the group; only a child that closed its output and
  // kept running is left. Give it the same grace, then kill the group.
  const auto reap_deadline =
      Clock::now() + (sigkill_at ? options.kill_grace : std::chrono::hours(24));
  while (true) {
    // WNOWAIT keeps the leader unreaped, so its pid (the group id) cannot be reused before the
    // group is killed below.
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
      if (errno == EINTR) continue;
      return errno_error("waitid");
    }
    if (info.si_pid == pid) break;
    if ((options.cancel && options.cancel->cancelled()) ||
        (options.deadline && Clock::now() >= *options.deadline)) {
      if (!result.cancelled && !result.timed_out) {
        result.cancelled = options.cancel && options.cancel->cancelled();
        result.timed_out = !result.cancelled;
      }
      stop_group();
    }
    if ((sigkill_at && Clock::now() >= *sigkill_at) || Clock::now() >= reap_deadline) {
      kill(-pid, SIGKILL);
    }
    usleep(20 * 1000);
  }
  // Anything the leader left behind in its group goes with it.
  kill(-pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  return result;
}

Result<CapturedProcess> capture_process(const std::vector<std::string>& argv,
                                        const std::string& cwd, std::chrono::seconds timeout,
                                        const std::map<std::string, std::string>& extra_env) {
  CapturedProcess captured;
  ProcessOptions options;
  options.argv = argv;
  options.cwd = cwd;
  options.extra_env = extra_env;
  options.deadline = Clock::now() + timeout;
  options.on_line = [&captured](OutputStream, std::string_view line) {
    captured.output.append(line);
    captured.output.push_back('\n');
  };
  auto result = run_process(options);
  if (!result.ok()) return result.error();
  if (result->timed_out) {
    return make_error(ErrorCode::kDeadlineExceeded,
                      argv[0] + " did not finish within " + std::to_string(timeout.count()) + " s");
  }
  captured.exit_code = result->exit_code;
  return captured;
}

}  // namespace kiln::builder
