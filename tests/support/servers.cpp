#include "support/servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace kiln::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kPollInterval{20};
constexpr seconds kStartTimeout{60};
constexpr seconds kStopTimeout{15};
constexpr seconds kInitdbTimeout{120};
// free_port() releases the port before the server binds it, so another process can take it in
// between; constructors then retry on a new port this many times.
constexpr int kPortAttempts = 3;

// A server that did not come up. `address_in_use` lets a constructor retry on another port.
class StartupError : public std::runtime_error {
 public:
  StartupError(const std::string& what, bool address_in_use)
      : std::runtime_error(what), address_in_use_(address_in_use) {}
  bool address_in_use() const { return address_in_use_; }

 private:
  bool address_in_use_;
};

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

void write_file(const std::string& path, const std::string& content,
                std::ios::openmode mode = std::ios::trunc) {
  std::ofstream out(path, mode);
  out << content;
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

std::string random_hex(std::size_t length) {
  std::random_device device;
  std::uniform_int_distribution<int> digit(0, 15);
  std::string hex;
  for (std::size_t i = 0; i < length; ++i) hex += "0123456789abcdef"[digit(device)];
  return hex;
}

// Size of the file at `path`, 0 if it does not exist: where this start's log output begins.
std::uintmax_t file_size_or_zero(const std::string& path) {
  std::error_code error;
  auto size = fs::file_size(path, error);
  return error ? 0 : size;
}

// The last `max_bytes` of what was written to `path` after `offset`.
std::string log_tail(const std::string& path, std::uintmax_t offset, std::size_t max_bytes = 6000) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no log at " + path + ")";
  in.seekg(0, std::ios::end);
  std::uintmax_t end = static_cast<std::uintmax_t>(in.tellg());
  std::uintmax_t begin = std::max<std::uintmax_t>(offset, end > max_bytes ? end - max_bytes : 0);
  in.seekg(static_cast<std::streamoff>(begin));
  std::string tail(static_cast<std::size_t>(end - begin), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  return tail;
}

bool mentions_address_in_use(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text.find("address already in use") != std::string::npos;
}

// Full path of an executable, searching PATH plus the sbin directories (nats-server lives in
// /usr/sbin, which a non-root PATH may lack).
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* env_path = std::getenv("PATH");
  std::string search = std::string(env_path ? env_path : "") +
                       ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::stringstream dirs(search);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error(name + " not found in PATH; run infra/install.sh");
}

// The bin directory of the newest PostgreSQL installed (/usr/lib/postgresql/<major>/bin), or
// $KILN_PG_BIN.
std::string postgres_bin_dir() {
  if (const char* dir = std::getenv("KILN_PG_BIN"); dir != nullptr && *dir != '\0') return dir;
  int best_major = -1;
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ignored)) {
    const std::string version = entry.path().filename().string();
    const bool numeric =
        !version.empty() && std::all_of(version.begin(), version.end(),
                                        [](unsigned char c) { return std::isdigit(c) != 0; });
    if (!numeric) continue;
    if (fs::exists(entry.path() / "bin" / "postgres")) {
      best_major = std::max(best_major, std::stoi(version));
    }
  }
  if (best_major < 0) {
    throw std::runtime_error("no PostgreSQL under /usr/lib/postgresql; run infra/install.sh");
  }
  return "/usr/lib/postgresql/" + std::to_string(best_major) + "/bin";
}

struct UserIds {
  uid_t uid;
  gid_t gid;
};

UserIds lookup_user(const std::string& name) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found) {
    throw std::runtime_error("no user '" + name + "' on this machine (install postgresql)");
  }
  return {found->pw_uid, found->pw_gid};
}

// ---- child processes -------------------------------------------------------------------------

// Undoes what a test process may have changed and a child must not inherit: blocked signals
// (libs/common/shutdown blocks SIGTERM and SIGINT, which would make servers deaf to both),
// ignored signals (SIG_IGN survives exec) and every file descriptor beyond stdio (a server
// holding a copy of a test's socket keeps that connection open after the test closes it).
// Runs between fork and exec: async-signal-safe calls only.
void reset_child_state() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &default_action, nullptr);
  close_range(3, ~0U, 0);
}

void child_fail(const char* what) {
  const char* reason = std::strerror(errno);
  (void)!write(STDERR_FILENO, what, std::strlen(what));
  (void)!write(STDERR_FILENO, ": ", 2);
  (void)!write(STDERR_FILENO, reason, std::strlen(reason));
  (void)!write(STDERR_FILENO, "\n", 1);
  _exit(127);
}

// Starts `argv` as a server: in a process group of its own (so it and any helpers it forks can be
// signalled at once), optionally as another user, stdout and stderr appended to `log_path`. The
// child gets SIGKILL when the thread that started it dies, so a crashed or killed test process
// leaves no server behind. (PostgreSQL's children leave the group with setsid(); they exit by
// themselves when the postmaster dies.)
pid_t spawn_server(const std::vector<std::string>& argv, const std::string& log_path,
                   const std::optional<UserIds>& run_as = std::nullopt,
                   const std::vector<std::string>* environment = nullptr) {
  // Everything the child needs is prepared here: after fork() in a multi-threaded process only
  // async-signal-safe calls are allowed.
  const std::string program = find_program(argv.at(0));
  std::vector<char*> c_argv;
  for (const auto& arg : argv) c_argv.push_back(const_cast<char*>(arg.c_str()));
  c_argv.push_back(nullptr);
  std::vector<char*> c_env;
  if (environment != nullptr) {
    for (const auto& entry : *environment) c_env.push_back(const_cast<char*>(entry.c_str()));
    c_env.push_back(nullptr);
  }

  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error(errno_text("cannot open " + log_path));
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    close(log_fd);
    throw std::runtime_error(errno_text("cannot open /dev/null"));
  }
  const pid_t parent = getpid();

  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    reset_child_state();
    if (run_as) {
      if (setgroups(1, &run_as->gid) != 0) child_fail("setgroups");
      if (setgid(run_as->gid) != 0) child_fail("setgid");
      if (setuid(run_as->uid) != 0) child_fail("setuid");
    }
    // After setuid: changing credentials clears the parent-death signal.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
    if (environment != nullptr) {
      execve(program.c_str(), c_argv.data(), c_env.data());
    } else {
      execv(program.c_str(), c_argv.data());
    }
    child_fail(program.c_str());
  }
  const int fork_errno = errno;
  close(log_fd);
  close(null_fd);
  if (pid < 0) {
    errno = fork_errno;
    throw std::runtime_error(errno_text("fork"));
  }
  // Also from the parent, so that the group exists before anyone signals it.
  setpgid(pid, pid);
  return pid;
}

// True once `pid` has exited (and reaps it). ECHILD means someone else reaped it (SIGCHLD
// ignored): exited as well.
bool reap_if_exited(pid_t pid, int* status = nullptr) {
  int local_status = 0;
  pid_t result;
  do {
    result = waitpid(pid, &local_status, WNOHANG);
  } while (result < 0 && errno == EINTR);
  if (status) *status = local_status;
  return result == pid || (result < 0 && errno == ECHILD);
}

bool wait_for_exit(pid_t pid, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!reap_if_exited(pid)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

// Sends `signal` to the leader (or, with `to_group`, to its whole group), waits up to `timeout`
// for it to exit, then SIGKILLs the group. Afterwards SIGKILLs whatever is left of the group
// (a server's own children), so nothing outlives the fixture. Sets pid to -1.
void stop_process(pid_t& pid, int signal, bool to_group, milliseconds timeout) {
  if (pid <= 0) return;
  kill(to_group ? -pid : pid, signal);
  if (!wait_for_exit(pid, timeout)) {
    kill(-pid, SIGKILL);
    wait_for_exit(pid, seconds(10));
  }
  kill(-pid, SIGKILL);
  pid = -1;
}

// Polls `ready` until it returns true. Fails, stopping the server, when the server exits first
// or `timeout` passes; the error carries the log written since `log_offset`.
void await_ready(pid_t& pid, const std::string& what, const std::string& log_path,
                 std::uintmax_t log_offset, const std::function<bool()>& ready,
                 milliseconds timeout = kStartTimeout) {
  const auto deadline = Clock::now() + timeout;
  std::string failure;
  while (failure.empty()) {
    if (ready()) return;
    int status = 0;
    if (reap_if_exited(pid, &status)) {
      failure = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                    : "exited with status " + std::to_string(WEXITSTATUS(status));
      kill(-pid, SIGKILL);  // its children, if any
      pid = -1;
    } else if (Clock::now() >= deadline) {
      failure = "was not ready after " +
                std::to_string(std::chrono::duration_cast<seconds>(timeout).count()) + "s";
      stop_process(pid, SIGKILL, /*to_group=*/true, milliseconds(0));
    } else {
      std::this_thread::sleep_for(kPollInterval);
    }
  }
  const std::string tail = log_tail(log_path, log_offset);
  throw StartupError(what + " " + failure + "; log " + log_path + ":\n" + tail,
                     mentions_address_in_use(tail));
}

// Picks a free port and calls `start` until it does not fail for want of that port.
void start_on_free_port(int& port, const std::function<void()>& start) {
  for (int attempt = 1;; ++attempt) {
    port = free_port();
    try {
      start();
      return;
    } catch (const StartupError& error) {
      if (!error.address_in_use() || attempt == kPortAttempts) throw;
    }
  }
}

// ---- sockets ---------------------------------------------------------------------------------

class Socket {
 public:
  Socket() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) throw std::runtime_error(errno_text("socket"));
  }
  ~Socket() { close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

sockaddr_in loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

bool connect_loopback(const Socket& socket, int port) {
  sockaddr_in address = loopback(port);
  return connect(socket.fd(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

bool port_accepts(int port) {
  Socket socket;
  return connect_loopback(socket, port);
}

// The status code of `GET path` on 127.0.0.1:port, or 0 when there is no HTTP answer in time.
int http_get_status(int port, const std::string& path, milliseconds timeout = milliseconds(2000)) {
  Socket socket;
  if (!connect_loopback(socket, port)) return 0;
  const std::string request = "GET " + path +
                              " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) +
                              "\r\nConnection: close\r\n\r\n";
  if (send(socket.fd(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return 0;
  }
  std::string response;
  const auto deadline = Clock::now() + timeout;
  while (response.find("\r\n") == std::string::npos) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    pollfd readable{socket.fd(), POLLIN, 0};
    if (left <= 0 || poll(&readable, 1, static_cast<int>(left)) <= 0) return 0;
    char buffer[512];
    ssize_t n = recv(socket.fd(), buffer, sizeof buffer, 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<std::size_t>(n));
  }
  // "HTTP/1.1 200 OK"
  if (response.rfind("HTTP/", 0) != 0) return 0;
  const auto space = response.find(' ');
  return space == std::string::npos ? 0 : std::atoi(response.c_str() + space + 1);
}

// docker-registry's configuration: filesystem storage, deletes allowed (tests clean up and
// exercise DELETE), plain HTTP on loopback, and htpasswd basic auth when a file is given. No
// blob-descriptor cache: the in-memory one can still report a blob after it was deleted. The
// HTTP secret is set only so that the registry does not warn about generating one.
std::string registry_config(const std::string& data_dir, int port,
                            const std::string& htpasswd_path) {
  std::ostringstream config;
  config << "version: 0.1\n"
         << "log:\n"
         << "  level: info\n"
         << "  formatter: text\n"
         << "storage:\n"
         << "  filesystem:\n"
         << "    rootdirectory: \"" << data_dir << "\"\n"
         << "  delete:\n"
         << "    enabled: true\n"
         << "http:\n"
         << "  addr: 127.0.0.1:" << port << "\n"
         << "  secret: " << random_hex(32) << "\n";
  if (!htpasswd_path.empty()) {
    config << "auth:\n"
           << "  htpasswd:\n"
           << "    realm: kiln-test\n"
           << "    path: \"" << htpasswd_path << "\"\n";
  }
  return config.str();
}

}  // namespace

// ---- helpers ---------------------------------------------------------------------------------

int free_port() {
  Socket socket;
  sockaddr_in address = loopback(0);
  if (bind(socket.fd(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error(errno_text("bind 127.0.0.1:0"));
  }
  socklen_t length = sizeof address;
  if (getsockname(socket.fd(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error(errno_text("getsockname"));
  }
  return ntohs(address.sin_port);
}

std::string make_temp_dir(const std::string& prefix) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string pattern = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/" + prefix + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error(errno_text("mkdtemp " + pattern));
  }
  return pattern;
}

void remove_tree(const std::string& path) {
  if (path.empty()) return;
  std::error_code ignored;  // used from destructors: best effort
  fs::remove_all(path, ignored);
}

bool wait_for_port(int port, int timeout_ms) {
  const auto deadline = Clock::now() + milliseconds(timeout_ms);
  while (!port_accepts(port)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
  return true;
}

// Declared in process.h; here because it shares the child set-up above with the servers.
int run_command(const std::string& command, std::string* output) {
  int pipe_fds[2] = {-1, -1};
  if (output && pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error(errno_text("pipe"));
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = fork();
  if (pid == 0) {
    if (output) {
      dup2(pipe_fds[1], STDOUT_FILENO);
      dup2(pipe_fds[1], STDERR_FILENO);
    }
    reset_child_state();
    execv(argv[0], const_cast<char* const*>(argv));
    child_fail("/bin/sh");
  }
  if (pid < 0) {
    const int fork_errno = errno;
    if (output) {
      close(pipe_fds[0]);
      close(pipe_fds[1]);
    }
    errno = fork_errno;
    throw std::runtime_error(errno_text("fork"));
  }
  if (output) {
    close(pipe_fds[1]);
    output->clear();
    char buffer[4096];
    for (;;) {
      ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      output->append(buffer, static_cast<std::size_t>(n));
    }
    close(pipe_fds[0]);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// ---- NatsServer ------------------------------------------------------------------------------

NatsServer::NatsServer(NatsClusterMember member) : member_(std::move(member)) {
  dir_ = make_temp_dir("kiln-nats-" + member_->server_name);
  try {
    // A retry takes a fresh route port too: either port may be taken by the time it binds.
    bool first_attempt = true;
    start_on_free_port(port_, [this, &first_attempt] {
      if (!first_attempt || member_->route_port == 0) member_->route_port = free_port();
      if (!first_attempt || member_->monitor_port == 0) member_->monitor_port = free_port();
      first_attempt = false;
      start();
    });
  } catch (...) {
    remove_tree(dir_);
    throw;
  }
}

NatsServer::NatsServer(WithKilnUsers) : kiln_users_(true), dir_(make_temp_dir("kiln-nats")) {
  try {
    write_kiln_users();
    start_on_free_port(port_, [this] { start(); });
  } catch (...) {
    remove_tree(dir_);
    throw;
  }
}

void NatsServer::write_kiln_users() {
  fs::create_directories(dir_ + "/credentials");
  std::map<std::string, std::string> passwords;
  for (const auto& user : bus::kiln_permissions()) {
    const bus::Credentials credentials{user.user, bus::random_password()};
    if (auto written = bus::write_credentials_file(credentials_file(user.user), credentials);
        !written.ok()) {
      throw std::runtime_error(written.error().describe());
    }
    passwords[user.user] = credentials.password;
  }
  auto config = bus::authorization_config(passwords);
  if (!config.ok()) throw std::runtime_error(config.error().describe());
  write_file(dir_ + "/nats.conf", *config);
}

std::string NatsServer::credentials_file(const std::string& user) const {
  return dir_ + "/credentials/nats-" + user;
}

bus::BusOptions NatsServer::bus_options(const std::string& name, const std::string& user) const {
  bus::BusOptions options{.url = url(), .name = name};
  if (kiln_users_) {
    auto credentials = bus::read_credentials_file(credentials_file(user));
    if (!credentials.ok()) throw std::runtime_error(credentials.error().describe());
    options.user = credentials->user;
    options.password = credentials->password;
  }
  return options;
}

NatsServer::NatsServer() : dir_(make_temp_dir("kiln-nats")) {
  try {
    start_on_free_port(port_, [this] { start(); });
  } catch (...) {
    remove_tree(dir_);
    throw;
  }
}

NatsServer::~NatsServer() {
  stop();
  remove_tree(dir_);
}

std::string NatsServer::url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

void NatsServer::start() {
  const std::string log_path = dir_ + "/nats.log";
  const auto log_offset = file_size_or_zero(log_path);
  std::vector<std::string> argv = {"nats-server",         "-js", "-a",           "127.0.0.1", "-p",
                                   std::to_string(port_), "-sd", dir_ + "/store"};
  if (member_) {
    std::string routes;
    for (int peer : member_->peer_route_ports) {
      if (!routes.empty()) routes += ',';
      routes += "nats://127.0.0.1:";
      routes += std::to_string(peer);
    }
    argv.insert(argv.end(),
                {"-D", "-m", std::to_string(member_->monitor_port), "-n", member_->server_name,
                 "--cluster_name", "kiln-test", "--cluster",
                 "nats://127.0.0.1:" + std::to_string(member_->route_port), "--routes", routes});
  } else {
    argv.insert(argv.end(), {"-n", "kiln-test"});
  }
  if (kiln_users_) argv.insert(argv.end(), {"-c", dir_ + "/nats.conf"});
  pid_ = spawn_server(argv, log_path);
  // nats-server enables JetStream (recovering the store) before it accepts clients, so an
  // accepted connection means JetStream is usable.
  await_ready(pid_, "nats-server", log_path, log_offset, [this] { return port_accepts(port_); });
}

std::string NatsServer::log(const std::string& containing) const {
  if (containing.empty()) return log_tail(dir_ + "/nats.log", 0, 3000);
  std::ifstream in(dir_ + "/nats.log");
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.find(containing) != std::string::npos) out += line + '\n';
  }
  return out.size() > 6000 ? out.substr(out.size() - 6000) : out;
}

void NatsServer::kill9() { stop_process(pid_, SIGKILL, /*to_group=*/true, milliseconds(0)); }

void NatsServer::stop() { stop_process(pid_, SIGTERM, /*to_group=*/true, kStopTimeout); }

void NatsServer::restart() {
  stop();
  start();
}

// ---- PostgresServer --------------------------------------------------------------------------

PostgresServer::PostgresServer() : dir_(make_temp_dir("kiln-pg")) {
  try {
    const UserIds postgres = lookup_user("postgres");
    // PostgreSQL refuses to run as root; the postgres user must own the cluster's directory.
    if (chown(dir_.c_str(), postgres.uid, postgres.gid) != 0) {
      throw std::runtime_error(errno_text("chown postgres " + dir_));
    }
    const std::string bin = postgres_bin_dir();
    const std::string initdb_log = dir_ + "/initdb.log";
    // --no-sync: a test cluster need not survive a power cut.
    pid_t initdb =
        spawn_server({bin + "/initdb", "-D", dir_ + "/data", "-U", "postgres", "--auth=trust", "-E",
                      "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                     initdb_log, postgres);
    if (!wait_for_exit(initdb, kInitdbTimeout)) {
      stop_process(initdb, SIGKILL, /*to_group=*/true, milliseconds(0));
      throw std::runtime_error("initdb timed out; log:\n" + log_tail(initdb_log, 0));
    }
    if (!fs::exists(dir_ + "/data/PG_VERSION")) {
      // Typically: a parent of $TMPDIR is not searchable by the postgres user.
      throw std::runtime_error("initdb as user postgres in " + dir_ + " failed; log:\n" +
                               log_tail(initdb_log, 0));
    }
    // Loopback TCP only: no Unix socket that could collide with a system cluster's in
    // /var/run/postgresql. fsync and full-page writes off make tests fast; they only protect
    // against an operating-system crash, which a test cluster does not need to survive
    // (committed data still survives the server being stopped or killed).
    write_file(dir_ + "/data/postgresql.conf",
               "\n# kiln test fixture\n"
               "listen_addresses = '127.0.0.1'\n"
               "unix_socket_directories = ''\n"
               "fsync = off\n"
               "full_page_writes = off\n"
               "shared_buffers = 32MB\n",
               std::ios::app);

    start_on_free_port(port_, [this] { start(); });

    const std::string psql = sh_quote(bin + "/psql") + " -X -q -h 127.0.0.1 -p " +
                             std::to_string(port_) +
                             " -U postgres -d postgres -c 'CREATE DATABASE kiln'";
    std::string output;
    if (run_command(psql, &output) != 0) {
      throw std::runtime_error("CREATE DATABASE kiln failed: " + output);
    }
  } catch (...) {
    stop_process(pid_, SIGKILL, /*to_group=*/true, milliseconds(0));
    remove_tree(dir_);
    throw;
  }
}

PostgresServer::~PostgresServer() {
  stop();
  remove_tree(dir_);
}

std::string PostgresServer::url() const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/kiln";
}

void PostgresServer::enable_kiln_roles() {
  const std::string analytics_password = bus::random_password();
  const std::string query_password = bus::random_password();
  write_file(dir_ + "/pgpass", "127.0.0.1:*:kiln:kiln_analytics:" + analytics_password +
                                   "\n127.0.0.1:*:kiln:kiln_query:" + query_password + "\n");
  fs::permissions(dir_ + "/pgpass", fs::perms::owner_read | fs::perms::owner_write);
  const std::string psql = sh_quote(postgres_bin_dir() + "/psql") + " -X -q -h 127.0.0.1 -p " +
                           std::to_string(port_) +
                           " -U postgres -d kiln -v analytics_password=" + analytics_password +
                           " -v query_password=" + query_password + " -f " +
                           sh_quote(std::string(KILN_SOURCE_DIR) + "/infra/postgres/roles.sql");
  std::string output;
  if (run_command(psql, &output) != 0) {
    throw std::runtime_error("infra/postgres/roles.sql failed: " + output);
  }
  write_file(dir_ + "/data/pg_hba.conf",
             "host all postgres 127.0.0.1/32 trust\n"
             "host all all 127.0.0.1/32 scram-sha-256\n");
  // SIGHUP: the postmaster reads pg_hba.conf again. Done once kiln_query without a password
  // is turned away.
  if (::kill(pid_, SIGHUP) != 0) throw std::runtime_error(errno_text("SIGHUP postgres"));
  const std::string without_password =
      "PGPASSFILE=/dev/null " + sh_quote(postgres_bin_dir() + "/psql") +
      " -X -w -q -h 127.0.0.1 -p " + std::to_string(port_) + " -U kiln_query -d kiln -c 'SELECT 1'";
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (run_command(without_password, &output) == 0) {
    if (Clock::now() >= deadline) throw std::runtime_error("pg_hba.conf not reloaded in 10 s");
    std::this_thread::sleep_for(kPollInterval);
  }
}

std::string PostgresServer::analytics_url() const {
  return "postgresql://kiln_analytics@127.0.0.1:" + std::to_string(port_) +
         "/kiln?passfile=" + dir_ + "/pgpass";
}

std::string PostgresServer::query_url() const {
  return "postgresql://kiln_query@127.0.0.1:" + std::to_string(port_) + "/kiln?passfile=" + dir_ +
         "/pgpass";
}

void PostgresServer::start() {
  const std::string bin = postgres_bin_dir();
  const std::string log_path = dir_ + "/postgres.log";
  const auto log_offset = file_size_or_zero(log_path);
  // The postmaster runs in the foreground as our child (not daemonized through pg_ctl), so it
  // lives in its own process group and dies with the test process.
  pid_ = spawn_server({bin + "/postgres", "-D", dir_ + "/data", "-p", std::to_string(port_)},
                      log_path, lookup_user("postgres"));
  const std::string is_ready = sh_quote(bin + "/pg_isready") +
                               " -q -h 127.0.0.1 -d postgres -U postgres -p " +
                               std::to_string(port_);
  // The TCP check first: cheap, and pg_isready (a fork each time) only once postgres listens.
  await_ready(pid_, "postgres", log_path, log_offset,
              [&] { return port_accepts(port_) && run_command(is_ready) == 0; });
}

void PostgresServer::stop() {
  // SIGINT to the postmaster is a fast shutdown: clients are disconnected, a checkpoint is
  // written. (SIGTERM would wait for every client to disconnect on its own.)
  stop_process(pid_, SIGINT, /*to_group=*/false, kStopTimeout);
}

void PostgresServer::kill9() { stop_process(pid_, SIGKILL, /*to_group=*/true, kStopTimeout); }

void PostgresServer::restart() {
  stop();
  start();
}

// ---- RegistryServer --------------------------------------------------------------------------

RegistryServer::RegistryServer(const std::string& htpasswd_user,
                               const std::string& htpasswd_password)
    : dir_(make_temp_dir("kiln-registry")) {
  try {
    const std::string htpasswd_path = dir_ + "/htpasswd";
    if (!htpasswd_user.empty()) {
      // -B: bcrypt, the only hash docker-registry accepts.
      std::string output;
      if (run_command("htpasswd -Bbc " + sh_quote(htpasswd_path) + " " + sh_quote(htpasswd_user) +
                          " " + sh_quote(htpasswd_password),
                      &output) != 0) {
        throw std::runtime_error("htpasswd failed (apache2-utils installed?): " + output);
      }
    }
    start_on_free_port(port_, [&] {
      write_file(dir_ + "/config.yml", registry_config(dir_ + "/data", port_,
                                                       htpasswd_user.empty() ? "" : htpasswd_path));
      spawn();
    });
  } catch (...) {
    stop_process(pid_, SIGKILL, /*to_group=*/true, milliseconds(0));
    remove_tree(dir_);
    throw;
  }
}

RegistryServer::~RegistryServer() {
  stop_process(pid_, SIGTERM, /*to_group=*/true, kStopTimeout);
  remove_tree(dir_);
}

std::string RegistryServer::blob_path(const std::string& digest) const {
  const std::string hex = digest.substr(digest.find(':') + 1);
  return dir_ + "/data/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
}

void RegistryServer::spawn() {
  const std::string log_path = dir_ + "/registry.log";
  const auto log_offset = file_size_or_zero(log_path);
  pid_ = spawn_server({"docker-registry", "serve", dir_ + "/config.yml"}, log_path);
  // 401 is ready too: that is the answer of a registry with auth.
  await_ready(pid_, "docker-registry", log_path, log_offset, [this] {
    const int status = http_get_status(port_, "/v2/");
    return status == 200 || status == 401;
  });
}

void RegistryServer::stop() { stop_process(pid_, SIGTERM, /*to_group=*/true, kStopTimeout); }

void RegistryServer::restart() {
  stop();
  spawn();
}

std::string RegistryServer::host() const { return "127.0.0.1:" + std::to_string(port_); }

// ---- base image ------------------------------------------------------------------------------

void push_base_image(const std::string& registry_host, const std::string& storage_root) {
  // --no-verify: the script's own trial build costs seconds per call; tests that build FROM the
  // image check it anyway.
  const std::string command = sh_quote(std::string(KILN_SOURCE_DIR) + "/infra/base-image.sh") +
                              " --no-verify " + sh_quote(registry_host) + " " +
                              sh_quote(storage_root);
  std::string output;
  const int status = run_command(command, &output);
  if (status != 0) {
    throw std::runtime_error("infra/base-image.sh failed (exit " + std::to_string(status) + "):\n" +
                             output);
  }
}

// ---- kiln's own services as processes ---------------------------------------------------------

ServiceProcess::ServiceProcess(std::string name, std::string binary, int http_port,
                               std::map<std::string, std::string> environment,
                               std::vector<std::string> args)
    : name_(std::move(name)),
      binary_(std::move(binary)),
      http_port_(http_port),
      environment_(std::move(environment)),
      args_(std::move(args)),
      dir_(make_temp_dir("kiln-" + name_)),
      log_path_(dir_ + "/" + name_ + ".log") {
  start();
}

ServiceProcess::~ServiceProcess() {
  stop_process(pid_, SIGKILL, /*to_group=*/true, milliseconds(0));
  if (std::getenv("KILN_KEEP_TEST_LOGS") == nullptr) remove_tree(dir_);
}

void ServiceProcess::start() {
  std::map<std::string, std::string> merged;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    // The test's own KILN_* settings must not leak into the service: it gets exactly ours.
    if (eq != std::string::npos && entry.rfind("KILN_", 0) != 0) {
      merged[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  for (const auto& [k, v] : environment_) merged[k] = v;
  merged["KILN_HTTP_PORT"] = std::to_string(http_port_);
  std::vector<std::string> env;
  for (const auto& [k, v] : merged) env.push_back(k + "=" + v);
  std::vector<std::string> argv = {binary_};
  argv.insert(argv.end(), args_.begin(), args_.end());
  log_offset_ = file_size_or_zero(log_path_);
  pid_ = spawn_server(argv, log_path_, std::nullopt, &env);
}

bool ServiceProcess::wait_ready(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pid_ <= 0 || reap_if_exited(pid_)) {
      pid_ = -1;
      return false;
    }
    if (http_get_status(http_port_, "/readyz") == 200) return true;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return false;
}

int ServiceProcess::stop(int timeout_ms) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (reap_if_exited(pid_, &status)) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  stop_process(pid_, SIGKILL, /*to_group=*/true, milliseconds(2000));
  return -1;
}

void ServiceProcess::kill9() { stop_process(pid_, SIGKILL, /*to_group=*/true, milliseconds(2000)); }

void ServiceProcess::restart() {
  if (pid_ > 0) stop();
  start();
}

bool ServiceProcess::wait_exit(int timeout_ms) {
  if (pid_ <= 0) return true;
  if (!wait_for_exit(pid_, milliseconds(timeout_ms))) return false;
  pid_ = -1;
  return true;
}

void ServiceProcess::set_env(const std::string& key, const std::string& value) {
  if (value.empty()) {
    environment_.erase(key);
  } else {
    environment_[key] = value;
  }
}

std::string ServiceProcess::log() const { return log_tail(log_path_, 0, 1 << 20); }

}  // namespace kiln::testing
