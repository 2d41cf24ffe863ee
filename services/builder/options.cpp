#include "builder/options.h"

#include <sys/utsname.h>

#include <cstdlib>

namespace kiln::builder {
namespace {

std::string host_platform() {
  utsname name{};
  uname(&name);
  const std::string machine = name.machine;
  if (machine == "x86_64") return "linux/amd64";
  if (machine == "aarch64") return "linux/arm64";
  return "linux/" + machine;
}

// "name=ENVVAR" items into name -> the variable's value.
void add_from_environment(const std::vector<std::string>& items, const std::string& option,
                          std::map<std::string, std::string>& out) {
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      throw StartupError(option + ": expected name=ENVVAR, got '" + item + "'");
    }
    const std::string variable = item.substr(eq + 1);
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) {
      throw StartupError(option + ": environment variable " + variable + " (for " +
                         item.substr(0, eq) + ") is not set");
    }
    out[item.substr(0, eq)] = value;
  }
}

}  // namespace

Config describe(BuilderOptions& o) {
  Config config = service::make_config(
      "kiln-builder", "Builds dispatched builds with buildah into OCI image layouts.", o.common);
  config.bind("worker.id", o.worker_id, "Worker id in `started` events (default: the instance id)");
  config.bind("build.slots", o.slots, "Builds run at once by this replica").range(1, 64);
  config
      .bind("build.timeout-seconds", o.timeout_seconds,
            "Wall-clock limit of a build when its spec sets none")
      .at_least(1);
  config
      .bind("build.log-max-bytes", o.log_max_bytes,
            "Log text stored per build attempt; past it a marker line says so, later lines are "
            "dropped (and counted) and the build goes on (0: no cap)")
      .at_least(0);
  config.bind("build.secrets", o.secret_variables,
              "Build secrets as id=ENVVAR,...: RUN --mount=type=secret,id=<id> reads the value of "
              "ENVVAR; values are masked in logs");
  config.bind("secrets.dir", o.secrets_dir,
              "The secret store, <dir>/<tenant>/<name>: the build secrets a project lists "
              "(secrets: [name]) and its git_credentials_ref / git_ssh_key_ref (store:NAME)");
  config.bind("secrets.key-file", o.secrets_key_file,
              "Key that opens the secrets given to one build (kiln build --secret): the same file "
              "as webhook-ingest's secrets.key-file; empty: builds given secrets fail");
  config
      .bind("build.heartbeat-seconds", o.heartbeat_seconds,
            "Seconds between in-progress acks while building and between worker heartbeats "
            "(below the consumer's AckWait of 30 s)")
      .range(1, 25);
  config.bind("build.network-blocked", o.network_blocked,
              "Networks (CIDRs, comma-separated) that RUN steps of builds with network never "
              "reach, e.g. where NATS and PostgreSQL run; the builder's own host is always "
              "blocked, and so is its loopback");
  config.bind("build.platform", o.platform,
              "Platform this builder builds for (default: the host's)");
  config
      .bind("buildah.root", o.buildah_root,
            "buildah storage of kiln's own (<dir>/root, <dir>/run, vfs driver)")
      .not_empty();
  config
      .bind("artifacts.dir", o.artifacts_dir,
            "This builder's own OCI layouts while they are checked and staged (never shared)")
      .not_empty();
  config
      .bind("artifacts.max-age-hours", o.artifacts_max_age_hours,
            "A layout left by a killed builder is removed after this (swept at start and every "
            "ten minutes; 0: never)")
      .at_least(0);
  registry::bind_staging(config, o.staging, /*sweeps=*/false);
  config.bind("work.dir", o.work_dir, "Per-build work directories (sources, secrets)").not_empty();
  config.bind("registry.insecure", o.insecure_registries,
              "Registries reached over plain HTTP (comma list of host:port)");
  config
      .bind("cache.max-bytes", o.cache_max_bytes,
            "Bound of the layer cache (buildah storage); pruned between builds")
      .at_least(0);
  bind_shared_cache(config, o.shared_cache);
  config.bind("git.credentials", o.git_credential_variables,
              "HTTP(S) Git credentials as host=ENVVAR,...; ENVVAR holds user:token");
  config.bind("git.ssh-key", o.git_ssh_key, "Private key file for ssh:// repositories");
  return config;
}

BuilderOptions resolve(BuilderOptions options) {
  if (options.worker_id.empty()) options.worker_id = options.common.instance;
  if (options.worker_id.empty()) options.worker_id = "builder";
  if (options.platform.empty()) options.platform = host_platform();
  add_from_environment(options.secret_variables, "build.secrets", options.secrets);
  add_from_environment(options.git_credential_variables, "git.credentials",
                       options.git_credentials);
  return options;
}

}  // namespace kiln::builder
