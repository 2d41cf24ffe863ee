// Real servers for integration and end-to-end tests, each started on a free loopback port in a
// fresh temporary directory and stopped (and the directory removed) by the destructor. Nothing
// here is a mock: these are the Debian packages' nats-server, PostgreSQL and docker-registry.
// Constructors throw std::runtime_error with the server's log tail when a server does not come up.
// Each server runs in its own process group and gets SIGKILL if the thread that started it (or
// restarted it) exits, so a crashed test leaves nothing behind: start servers from the test's
// own thread, not from a short-lived helper thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "bus/permissions.h"
#include "support/process.h"  // run_command() and friends, which callers of this header use

namespace kiln::testing {

// A free TCP port on 127.0.0.1 (bound to port 0 and released).
int free_port();
// A fresh directory under $TMPDIR (or /tmp), removed by remove_tree.
std::string make_temp_dir(const std::string& prefix);
void remove_tree(const std::string& path);
// Waits until something accepts TCP connections on 127.0.0.1:port; false on timeout.
bool wait_for_port(int port, int timeout_ms);

// A node's place in a nats-server cluster (tests/support/nats_cluster.h builds whole clusters):
// its name, the route ports of the nodes it dials, and its own (0, or taken: a free one).
struct NatsClusterMember {
  std::string server_name;
  std::vector<int> peer_route_ports;
  int route_port = 0;
  int monitor_port = 0;  // HTTP monitoring (/jsz); 0: a free one
};

// Asks for a nats-server with kiln's users and permissions (bus/permissions.h), as
// infra/stack.sh runs it: no anonymous clients, each user only its subjects.
struct WithKilnUsers {};

// nats-server -js on a free port with its own store directory; a cluster node when given its
// membership.
class NatsServer {
 public:
  NatsServer();
  explicit NatsServer(NatsClusterMember member);
  explicit NatsServer(WithKilnUsers);
  ~NatsServer();
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  std::string url() const;  // nats://127.0.0.1:<port>
  int port() const { return port_; }
  // With kiln's users: the credentials file (nats.credentials-file) of a service or kAdminUser.
  std::string credentials_file(const std::string& user) const;
  // Options to connect as `user` (kiln's users only; ignored on a server without users).
  bus::BusOptions bus_options(const std::string& name,
                              const std::string& user = bus::kAdminUser) const;
  std::string store_dir() const { return dir_ + "/store"; }  // JetStream's files
  void kill9();                                              // SIGKILL, no cleanup: the store stays
  void stop();                                               // SIGTERM and wait
  void restart();  // start again on the same port and store (after kill9 or stop)
  bool running() const { return pid_ > 0; }
  // The end of the server's log (for a test's failure message); with `containing`, only the
  // lines that contain it.
  std::string log(const std::string& containing = "") const;
  // Cluster nodes only: the port it takes routes on, and the peers a restart dials.
  int route_port() const { return member_ ? member_->route_port : 0; }
  int monitor_port() const { return member_ ? member_->monitor_port : 0; }
  void set_peer_route_ports(std::vector<int> ports) {
    member_->peer_route_ports = std::move(ports);
  }

 private:
  void start();
  void write_kiln_users();
  std::optional<NatsClusterMember> member_;
  bool kiln_users_ = false;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A PostgreSQL cluster (initdb as the postgres user, since PostgreSQL refuses root) on a free
// port, with a database "kiln" owned by the postgres user, trust authentication on 127.0.0.1;
// with enable_kiln_roles(), kiln's roles as infra/stack.sh makes them.
class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  std::string url() const;  // postgresql://postgres@127.0.0.1:<port>/kiln (the superuser)
  int port() const { return port_; }
  // Runs infra/postgres/roles.sql with fresh passwords, kept in a pgpass file, and from then on
  // asks every role but the superuser for its password (the superuser stays on trust, so tests
  // can still look inside).
  void enable_kiln_roles();
  // postgresql://<role>@127.0.0.1:<port>/kiln?passfile=... for kiln_analytics (owner, writer)
  // and kiln_query (read-only); enable_kiln_roles() first.
  std::string analytics_url() const;
  std::string query_url() const;
  void stop();     // fast shutdown (SIGINT, what pg_ctl stop -m fast sends)
  void kill9();    // SIGKILL to the postmaster and every backend: a crash, recovered on restart
  void restart();  // start again on the same data directory

 private:
  void start();
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;  // the postmaster, a direct child (not daemonized by pg_ctl)
};

// docker-registry (distribution v2) on a free port, filesystem storage in its own directory,
// optionally with htpasswd basic auth.
class RegistryServer {
 public:
  explicit RegistryServer(const std::string& htpasswd_user = "",
                          const std::string& htpasswd_password = "");
  ~RegistryServer();
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;

  std::string host() const;  // 127.0.0.1:<port>
  int port() const { return port_; }
  void stop();     // SIGTERM and wait; the stored blobs stay
  void restart();  // start again on the same port and storage (after stop)
  // Where the filesystem storage keeps a blob's bytes (a test corrupts them there).
  std::string blob_path(const std::string& digest) const;

 private:
  void spawn();
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Pushes kiln's busybox base image (made locally from Debian's busybox-static with buildah) to
// `registry_host` as kiln/busybox:latest, so Dockerfiles can say FROM <host>/kiln/busybox.
// Uses the buildah storage under `storage_root` (kiln's own, never the machine's default).
// Throws with buildah's output on failure.
void push_base_image(const std::string& registry_host, const std::string& storage_root);

// A kiln service binary run as a child process for end-to-end tests: its environment is the
// test's minus any KILN_* variable, plus `environment` and KILN_HTTP_PORT; its output goes to a
// log file (kept after the test when KILN_KEEP_TEST_LOGS is set). Started by the constructor.
class ServiceProcess {
 public:
  ServiceProcess(std::string name, std::string binary, int http_port,
                 std::map<std::string, std::string> environment,
                 std::vector<std::string> args = {});
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  // Polls GET /readyz until 200; false if the process exited or the time ran out.
  bool wait_ready(int timeout_ms = 30000);
  // SIGTERM; returns the exit code (or -1 if it had to be killed).
  int stop(int timeout_ms = 10000);
  void kill9();
  void restart();
  // Sets (or, with an empty value, removes) a variable for the next start(), e.g. failpoints.
  void set_env(const std::string& key, const std::string& value);
  bool running() const { return pid_ > 0; }
  // Waits up to `timeout_ms` for the process to exit (reaping it); true when it has.
  bool wait_exit(int timeout_ms);
  pid_t pid() const { return pid_; }
  int http_port() const { return http_port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(http_port_); }
  std::string log() const;

 private:
  void start();
  std::string name_;
  std::string binary_;
  int http_port_;
  std::map<std::string, std::string> environment_;
  std::vector<std::string> args_;
  std::string dir_;
  std::string log_path_;
  std::uintmax_t log_offset_ = 0;
  pid_t pid_ = -1;
};

}  // namespace kiln::testing
