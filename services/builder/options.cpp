#include "builder/options.h"

#include <sys/utsname.h>

#include <cstdlib>

#include "common/strings.h"

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

}  // namespace

void declare_options(Config& config) {
  config.option("worker.id", "", "Worker id in `started` events (default: the instance id)")
      .option("build.slots", "1", "Builds run at once by this replica")
      .option("build.timeout-seconds", "3600",
              "Wall-clock limit of a build when its spec sets none")
      .option("build.secrets", "",
              "Build secrets as id=ENVVAR,...: RUN --mount=type=secret,id=<id> reads the value of "
              "ENVVAR; values are masked in logs")
      .option("build.heartbeat-seconds", "5",
              "Seconds between in-progress acks while building and between worker heartbeats")
      .option("build.platform", "", "Platform this builder builds for (default: the host's)")
      .option("buildah.root", ".kiln/buildah",
              "buildah storage of kiln's own (<dir>/root, <dir>/run, vfs driver)")
      .option("artifacts.dir", ".kiln/artifacts", "OCI image layouts, one directory per build")
      .option("work.dir", ".kiln/work", "Per-build work directories (sources, secrets)")
      .option("registry.insecure", "127.0.0.1:5000,localhost:5000",
              "Registries reached over plain HTTP (comma list of host:port)")
      .option("cache.max-bytes", std::to_string(10LL << 30),
              "Bound of the layer cache (buildah storage); pruned between builds")
      .option("git.credentials", "",
              "HTTP(S) Git credentials as host=ENVVAR,...; ENVVAR holds user:token")
      .option("git.ssh-key", "", "Private key file for ssh:// repositories");
}

std::map<std::string, std::string> parse_pairs(const std::string& text, const std::string& option) {
  std::map<std::string, std::string> out;
  for (const auto& item : split_list(text, ListItems::kAsWritten)) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw ConfigError(option + ": expected name=value, got '" + item + "'");
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

BuilderOptions read_options(const Config& config, const std::string& instance) {
  BuilderOptions options;
  options.worker_id = config.get("worker.id").empty() ? instance : config.get("worker.id");
  options.slots = static_cast<int>(config.get_int("build.slots"));
  if (options.slots < 1) throw ConfigError("build.slots must be at least 1");
  options.timeout_seconds = static_cast<int>(config.get_int("build.timeout-seconds"));
  if (options.timeout_seconds < 1) throw ConfigError("build.timeout-seconds must be positive");
  options.heartbeat_seconds = static_cast<int>(config.get_int("build.heartbeat-seconds"));
  if (options.heartbeat_seconds < 1) throw ConfigError("build.heartbeat-seconds must be positive");
  options.buildah_root = config.get("buildah.root");
  options.artifacts_dir = config.get("artifacts.dir");
  options.work_dir = config.get("work.dir");
  options.insecure_registries = split_list(config.get("registry.insecure"));
  options.cache_max_bytes = config.get_int("cache.max-bytes");
  options.platform =
      config.get("build.platform").empty() ? host_platform() : config.get("build.platform");
  for (const auto& [id, env] : parse_pairs(config.get("build.secrets"), "build.secrets")) {
    const char* value = std::getenv(env.c_str());
    if (value == nullptr) {
      throw ConfigError("build.secrets: environment variable " + env + " (secret " + id +
                        ") is not set");
    }
    options.secrets[id] = value;
  }
  for (const auto& [host, env] : parse_pairs(config.get("git.credentials"), "git.credentials")) {
    const char* value = std::getenv(env.c_str());
    if (value == nullptr) {
      throw ConfigError("git.credentials: environment variable " + env + " is not set");
    }
    options.git_credentials[host] = value;
  }
  options.git_ssh_key = config.get("git.ssh-key");
  return options;
}

}  // namespace kiln::builder
