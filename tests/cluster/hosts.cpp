#include "cluster/hosts.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "support/servers.h"

extern char** environ;

namespace kiln::cluster {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kNetnsPrefix[] = "kiln-cl";
// Directories every host has of its own; /dev/shm gets a fresh tmpfs instead. /tmp last: the
// hosts' directories are under the machine's /tmp, which that bind covers.
const std::vector<std::string> kPrivateDirs = {"/var/tmp", "/var/lib/containers", "/tmp"};

std::string ip(const std::string& args) { return testing::must_run("ip " + args); }

// The source tree and the build tree, the outer one only when one holds the other.
std::vector<std::string> kept_visible() {
  const std::string source = fs::weakly_canonical(KILN_SOURCE_DIR).string();
  const std::string binary = fs::weakly_canonical(KILN_BINARY_DIR).string();
  if (binary == source || binary.rfind(source + "/", 0) == 0) return {source};
  if (source.rfind(binary + "/", 0) == 0) return {binary};
  return {source, binary};
}

// The pid in a name that kNetnsPrefix or "kcbr" starts ("kiln-cl123-x", "kcbr123"), 0 if none.
int owner_pid(const std::string& name, const std::string& prefix) {
  if (name.rfind(prefix, 0) != 0) return 0;
  return std::atoi(name.c_str() + prefix.size());
}

bool alive(int pid) { return pid > 0 && fs::exists("/proc/" + std::to_string(pid)); }

// Namespaces and bridges of runs whose test process is gone (killed before its destructors ran).
void remove_leftovers_of_dead_runs() {
  std::string out;
  testing::run_command("ip netns list", &out);
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const std::string name = line.substr(0, line.find(' '));
    const int pid = owner_pid(name, kNetnsPrefix);
    if (pid > 0 && !alive(pid)) testing::run_command("ip netns del " + name);
  }
  testing::run_command("ip -o link show type bridge", &out);
  std::istringstream links(out);
  for (std::string line; std::getline(links, line);) {
    const auto begin = line.find(": ");
    if (begin == std::string::npos) continue;
    const std::string name = line.substr(begin + 2, line.find(':', begin + 2) - begin - 2);
    const int pid = owner_pid(name, "kcbr");
    if (pid > 0 && !alive(pid)) testing::run_command("ip link del " + name);
  }
}

// The first 10.213.<n> that no interface of the root namespace uses.
std::string free_subnet() {
  std::string out;
  testing::run_command("ip -o -4 addr", &out);
  for (int n = 0; n < 250; ++n) {
    const std::string subnet = "10.213." + std::to_string(n);
    if (out.find(subnet + ".") == std::string::npos) return subnet;
  }
  throw std::runtime_error("no free 10.213.<n>.0/24 subnet");
}

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(std::string(path ? path : "") + ":/usr/sbin:/usr/bin:/sbin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (!dir.empty() && access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
  }
  throw std::runtime_error(name + " not found in PATH");
}

[[noreturn]] void child_fail(const char* what) {
  const char* reason = std::strerror(errno);
  (void)!write(STDERR_FILENO, what, std::strlen(what));
  (void)!write(STDERR_FILENO, ": ", 2);
  (void)!write(STDERR_FILENO, reason, std::strlen(reason));
  (void)!write(STDERR_FILENO, "\n", 1);
  _exit(127);
}

bool reap_if_exited(pid_t pid) {
  int status = 0;
  pid_t result;
  do {
    result = waitpid(pid, &status, WNOHANG);
  } while (result < 0 && errno == EINTR);
  return result == pid || (result < 0 && errno == ECHILD);
}

std::string link_text(const std::string& path) {
  std::error_code error;
  auto target = fs::read_symlink(path, error);
  return error ? "" : target.string();
}

}  // namespace

// ---- HostNetwork ------------------------------------------------------------------------------

HostNetwork::HostNetwork(const std::string& run_dir)
    : run_dir_(run_dir), tag_(std::to_string(getpid())), bridge_("kcbr" + tag_) {
  remove_leftovers_of_dead_runs();
  std::string out;
  const std::string probe = std::string(kNetnsPrefix) + tag_ + "-probe";
  if (testing::run_command("ip netns add " + probe, &out) != 0) {
    throw NotPermitted("network namespaces are not permitted here (ip netns add: " + out + ")");
  }
  testing::run_command("ip netns del " + probe);
  if (testing::run_command("ip link add " + bridge_ + " type bridge", &out) != 0) {
    throw NotPermitted("no bridge can be created here (ip link add type bridge: " + out + ")");
  }
  try {
    subnet_ = free_subnet();
    ip("addr add " + gateway() + "/24 dev " + bridge_);
    ip("link set " + bridge_ + " up");
  } catch (...) {
    testing::run_command("ip link del " + bridge_);
    throw;
  }
}

HostNetwork::~HostNetwork() {
  // A namespace's veth end goes with it, and the bridge's end with that.
  for (const auto& host : hosts_) testing::run_command("ip netns del " + host->netns);
  testing::run_command("ip link del " + bridge_);
}

const Host& HostNetwork::add_host(const std::string& name) {
  auto host = std::make_unique<Host>();
  const int index = static_cast<int>(hosts_.size()) + 2;  // .1 is the bridge
  host->name = name;
  host->netns = std::string(kNetnsPrefix) + tag_ + "-" + name;
  host->address = subnet_ + "." + std::to_string(index);
  host->root = run_dir_ + "/hosts/" + name;
  ip("netns add " + host->netns);
  hosts_.push_back(std::move(host));
  const Host& h = *hosts_.back();
  const std::string veth = "kcv" + tag_ + "-" + std::to_string(index);
  ip("link add " + veth + " type veth peer name eth0 netns " + h.netns);
  ip("link set " + veth + " master " + bridge_ + " up");
  ip("-n " + h.netns + " addr add " + h.address + "/24 dev eth0");
  ip("-n " + h.netns + " link set eth0 up");
  ip("-n " + h.netns + " link set lo up");
  for (const auto& dir : kPrivateDirs) {
    const std::string path = h.root + dir;
    fs::create_directories(path);
    // World-writable like the real ones: PostgreSQL runs as its own user.
    fs::permissions(path, fs::perms::all | fs::perms::sticky_bit);
  }
  return h;
}

// ---- HostProcess ------------------------------------------------------------------------------

HostProcess::HostProcess(const Host& host, std::string name, std::vector<std::string> argv,
                         std::map<std::string, std::string> environment, std::string log_path,
                         bool as_postgres)
    : host_(host), name_(std::move(name)), log_path_(std::move(log_path)) {
  // Everything the child needs is prepared before fork(): afterwards only system calls.
  const std::string program = find_program(argv.at(0));
  std::vector<char*> c_argv;
  for (auto& arg : argv) c_argv.push_back(arg.data());
  c_argv.push_back(nullptr);
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    // The test's own KILN_* settings must not leak into a service: it gets exactly ours.
    if (eq != std::string::npos && entry.rfind("KILN_", 0) != 0) {
      merged[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  for (const auto& [k, v] : environment) merged[k] = v;
  merged["TMPDIR"] = "/tmp";
  std::vector<std::string> env;
  for (const auto& [k, v] : merged) env.push_back(k + "=" + v);
  std::vector<char*> c_env;
  for (auto& entry : env) c_env.push_back(entry.data());
  c_env.push_back(nullptr);
  std::vector<std::pair<std::string, std::string>> binds;
  // kiln's sources and binaries stay visible where they are, also when they live below a
  // private directory (a clone in /tmp): bound into the host's own copy first, they come along
  // when that is bound over the machine's (recursively).
  for (const std::string& tree : kept_visible()) {
    for (const auto& dir : kPrivateDirs) {
      if (tree.rfind(dir + "/", 0) != 0) continue;
      fs::create_directories(host.root + tree);
      binds.emplace_back(tree, host.root + tree);
    }
  }
  for (const auto& dir : kPrivateDirs) {
    if (fs::is_directory(dir)) binds.emplace_back(host.root + dir, dir);
  }
  std::optional<std::pair<uid_t, gid_t>> user;
  if (as_postgres) {
    const passwd* entry = getpwnam("postgres");
    if (entry == nullptr) throw std::runtime_error("no user postgres (install postgresql)");
    user = {entry->pw_uid, entry->pw_gid};
  }
  const std::string netns_path = "/run/netns/" + host.netns;
  const int netns_fd = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (netns_fd < 0) throw std::runtime_error("cannot open " + netns_path);
  const int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    close(netns_fd);
    throw std::runtime_error("cannot open " + log_path_ + " or /dev/null");
  }
  const pid_t parent = getpid();

  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    if (setns(netns_fd, CLONE_NEWNET) != 0) child_fail("setns");
    if (unshare(CLONE_NEWNS) != 0) child_fail("unshare mount namespace");
    // Private propagation: the binds below must not leak back into the machine's namespace.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) child_fail("mount /");
    for (const auto& [from, to] : binds) {
      if (mount(from.c_str(), to.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
        child_fail(to.c_str());
      }
    }
    if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0) {
      child_fail("/dev/shm");
    }
    if (chdir("/tmp") != 0) child_fail("chdir /tmp");
    // Undo what the test process changed and a child must not inherit (blocked and ignored
    // signals, descriptors beyond stdio).
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &default_action, nullptr);
    close_range(3, ~0U, 0);
    if (user) {
      if (setgroups(1, &user->second) != 0) child_fail("setgroups");
      if (setgid(user->second) != 0) child_fail("setgid");
      if (setuid(user->first) != 0) child_fail("setuid");
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // after setuid, which clears it
    if (getppid() != parent) _exit(127);
    execve(program.c_str(), c_argv.data(), c_env.data());
    child_fail(program.c_str());
  }
  close(netns_fd);
  close(log_fd);
  close(null_fd);
  if (pid_ < 0) throw std::runtime_error("fork failed");
  setpgid(pid_, pid_);
  // The child's own namespace, once it has made it (before that its link names the test's).
  const std::string ours = link_text("/proc/self/ns/mnt");
  const auto deadline = Clock::now() + milliseconds(5000);
  while (Clock::now() < deadline) {
    const std::string its = link_text("/proc/" + std::to_string(pid_) + "/ns/mnt");
    if (its.empty()) break;  // exited already
    if (its != ours) {
      mount_ns_ = its;
      break;
    }
    std::this_thread::sleep_for(milliseconds(2));
  }
}

HostProcess::~HostProcess() { kill9(); }

bool HostProcess::running() {
  if (pid_ > 0 && reap_if_exited(pid_)) pid_ = -1;
  return pid_ > 0;
}

void HostProcess::kill_namespace() {
  // Only while the process itself holds its namespace: once that is gone, the kernel may give
  // its inode number to a namespace of another process.
  if (mount_ns_.empty() || link_text("/proc/" + std::to_string(pid_) + "/ns/mnt") != mount_ns_) {
    return;
  }
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (link_text("/proc/" + pid + "/ns/mnt") == mount_ns_) kill(std::stoi(pid), SIGKILL);
  }
}

void HostProcess::kill9() {
  if (pid_ <= 0) return;
  kill_namespace();
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  wait_exit(5000);
}

void HostProcess::stop(int timeout_ms) {
  if (pid_ > 0) kill(pid_, SIGTERM);
  if (!wait_exit(timeout_ms)) kill9();
}

bool HostProcess::wait_exit(int timeout_ms) {
  const auto deadline = Clock::now() + milliseconds(timeout_ms);
  while (running()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

std::string HostProcess::log(std::size_t max_bytes) const {
  std::ifstream in(log_path_, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
  return "----- " + name_ + " (" + host_.address + ")\n" + text + "\n";
}

bool wait_for_tcp(const std::string& address, int port, int timeout_ms) {
  const auto deadline = Clock::now() + milliseconds(timeout_ms);
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, address.c_str(), &target.sin_addr);
  while (Clock::now() < deadline) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) == 0;
    close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return false;
}

}  // namespace kiln::cluster
