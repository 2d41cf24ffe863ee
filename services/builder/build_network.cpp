#include "builder/build_network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "builder/process.h"
#include "common/log.h"

namespace kiln::builder {
namespace {

constexpr char kPrefix[] = "kiln-";
constexpr int kReadyTimeoutMs = 10000;

Status ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto run = capture_process(argv, {}, std::chrono::seconds(30));
  if (!run.ok()) return run.error();
  if (run->exit_code != 0) {
    std::string command;
    for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
    return make_error(ErrorCode::kInternal, command + ": " + run->output);
  }
  return {};
}

// The host's own IPv4 and IPv6 addresses, loopback excluded (inside the namespace loopback is
// its own).
std::vector<std::string> host_addresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (a->ifa_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
      if (std::strncmp(text, "127.", 4) != 0) out.push_back(std::string(text) + "/32");
    }
  }
  freeifaddrs(list);
  return out;
}

pid_t start_slirp(const std::string& netns_path, int ready_fd) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  // The child: dies with the builder, keeps only the ready pipe open.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  dup2(ready_fd, 3);
  const int devnull = open("/dev/null", O_RDWR);
  dup2(devnull, 0);
  dup2(devnull, 1);
  dup2(devnull, 2);
  for (int fd = 4; fd < 1024; ++fd) close(fd);
  execlp("slirp4netns", "slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
         "--ready-fd=3", "--netns-type=path", netns_path.c_str(), "tap0",
         static_cast<char*>(nullptr));
  _exit(127);
}

}  // namespace

Result<std::unique_ptr<BuildNetwork>> BuildNetwork::create(
    const std::vector<std::string>& blocked) {
  static std::atomic<int> counter{0};
  const std::string name =
      std::string(kPrefix) + std::to_string(getpid()) + "-" + std::to_string(++counter);
  if (auto s = ip({"netns", "add", name}); !s.ok()) return s.error();
  std::unique_ptr<BuildNetwork> network(new BuildNetwork(name));

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return make_error(ErrorCode::kInternal, std::string("pipe2: ") + std::strerror(errno));
  }
  network->slirp_ = start_slirp(network->path_, pipe_fds[1]);
  close(pipe_fds[1]);
  if (network->slirp_ < 0) {
    close(pipe_fds[0]);
    return make_error(ErrorCode::kInternal, std::string("fork: ") + std::strerror(errno));
  }
  pollfd ready{pipe_fds[0], POLLIN, 0};
  char byte = 0;
  const bool configured =
      poll(&ready, 1, kReadyTimeoutMs) == 1 && read(pipe_fds[0], &byte, 1) == 1 && byte == '1';
  close(pipe_fds[0]);
  if (!configured) {
    return make_error(ErrorCode::kUnavailable,
                      "slirp4netns did not bring up the build's network (is slirp4netns "
                      "installed? apt-get install slirp4netns)");
  }
  std::vector<std::string> blackholes = host_addresses();
  blackholes.insert(blackholes.end(), blocked.begin(), blocked.end());
  for (const auto& cidr : blackholes) {
    if (auto s = ip({"-n", name, "route", "add", "blackhole", cidr}); !s.ok()) return s.error();
  }
  return network;
}

BuildNetwork::~BuildNetwork() {
  if (slirp_ > 0) {
    kill(slirp_, SIGKILL);
    waitpid(slirp_, nullptr, 0);
  }
  if (auto s = ip({"netns", "delete", name_}); !s.ok()) {
    log::warn("build network namespace not deleted",
              {{"netns", name_}, {"error", s.error().describe()}});
  }
}

void remove_stale_build_networks() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kPrefix, 0) != 0) continue;
    const std::string rest = name.substr(std::strlen(kPrefix));
    const pid_t owner = static_cast<pid_t>(std::atoi(rest.substr(0, rest.find('-')).c_str()));
    if (owner <= 0 || (kill(owner, 0) != 0 && errno == ESRCH)) {
      if (auto s = ip({"netns", "delete", name}); !s.ok()) {
        log::warn("stale build network namespace not deleted",
                  {{"netns", name}, {"error", s.error().describe()}});
      }
    }
  }
}

}  // namespace kiln::builder
