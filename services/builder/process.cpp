#include "builder/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

[[noreturn]] void exec_child(const ProcessOptions& options, int out_fd, int err_fd) {
  setpgid(0, 0);
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
  if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) {
    dprintf(2, "chdir %s: %s\n", options.cwd.c_str(), std::strerror(errno));
    _exit(127);
  }
  for (const auto& [key, value] : options.extra_env) setenv(key.c_str(), value.c_str(), 1);
  std::vector<char*> argv;
  for (const auto& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  dprintf(2, "exec %s: %s\n", argv[0], std::strerror(errno));
  _exit(127);
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
  const pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return errno_error("fork");
  }
  if (pid == 0) exec_child(options, out_pipe[1], err_pipe[1]);
  // Both sides set the group, so a kill right after fork reaches the child either way.
  setpgid(pid, pid);
  close(out_pipe[1]);
  close(err_pipe[1]);

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
