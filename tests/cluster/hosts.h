// Many hosts on one machine, for the multi-host test: every host is a network namespace with its
// own address on a bridge in the root namespace (which the test itself reaches), and every
// process started on a host runs in a mount namespace of its own in which /tmp, /var/tmp and
// /var/lib/containers are that host's private directories and /dev/shm a fresh tmpfs, so no two
// hosts see one another's files. Killing a host's process kills everything it left in its mount
// namespace, as a machine's crash would.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln::cluster {

struct Host {
  std::string name;
  std::string netns;    // name under /run/netns
  std::string address;  // IPv4 on the bridge
  std::string root;     // the host's private directories, seen from the test
  std::string tmp() const { return root + "/tmp"; }  // the host's /tmp, seen from the test
};

// A bridge, a /24 of its own and the hosts on it; removes them all (and the namespaces of runs
// that were killed before they could) when destroyed.
class HostNetwork {
 public:
  // Throws NotPermitted when the machine refuses network namespaces or bridges.
  explicit HostNetwork(const std::string& run_dir);
  ~HostNetwork();
  HostNetwork(const HostNetwork&) = delete;
  HostNetwork& operator=(const HostNetwork&) = delete;

  const Host& add_host(const std::string& name);
  std::string gateway() const { return subnet_ + ".1"; }  // the bridge: the test's address

  struct NotPermitted : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

 private:
  std::string run_dir_;
  std::string tag_;  // unique to this run: in the names of the bridge, veths and namespaces
  std::string bridge_;
  std::string subnet_;  // "10.213.<n>"
  std::vector<std::unique_ptr<Host>> hosts_;
};

// One process on a host, in its own process group, stdout and stderr appended to `log_path`.
// It gets SIGKILL when the thread that started it exits (start hosts from the test's thread).
class HostProcess {
 public:
  HostProcess(const Host& host, std::string name, std::vector<std::string> argv,
              std::map<std::string, std::string> environment, std::string log_path,
              bool as_postgres = false);
  ~HostProcess();
  HostProcess(const HostProcess&) = delete;
  HostProcess& operator=(const HostProcess&) = delete;

  const Host& host() const { return host_; }
  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  bool running();  // reaps it when it has exited
  // SIGKILL to the process, its group and everything in its mount namespace, without warning.
  void kill9();
  // SIGTERM, then kill9() after `timeout_ms`.
  void stop(int timeout_ms = 10000);
  bool wait_exit(int timeout_ms);
  std::string log(std::size_t max_bytes = 8000) const;

 private:
  void kill_namespace();
  const Host& host_;
  std::string name_;
  std::string log_path_;
  pid_t pid_ = -1;
  std::string mount_ns_;  // /proc/<pid>/ns/mnt's link text, e.g. "mnt:[4026532301]"
};

// Polls until something accepts TCP connections on address:port; false after `timeout_ms`.
bool wait_for_tcp(const std::string& address, int port, int timeout_ms);

}  // namespace kiln::cluster
