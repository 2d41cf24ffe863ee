// Every KILN_* environment variable some kiln program reads. One environment usually serves
// several services (infra/services.sh exports KILN_DATABASE_URL to the builder too), so a service
// tolerates the variables of the others and refuses only names nobody reads: a typo like
// KILN_BUILD_SLOT fails at start-up instead of being ignored. tests/unit/configuration_test.cpp
// checks the option names against every service's declarations; docs/configuration.md lists all.
#include "service/service.h"

namespace kiln::service {
namespace {

// KILN_ + every option name of the five services (see --help).
constexpr const char* kOptionVariables[] = {"KILN_ANALYTICS_BATCH_SIZE",
                                            "KILN_ANALYTICS_MAX_LAG",
                                            "KILN_API_TOKENS",
                                            "KILN_ARTIFACTS_DIR",
                                            "KILN_ARTIFACTS_MAX_AGE_HOURS",
                                            "KILN_BUILDAH_ROOT",
                                            "KILN_BUILD_HEARTBEAT_SECONDS",
                                            "KILN_BUILD_LOG_MAX_BYTES",
                                            "KILN_BUILD_NETWORK_BLOCKED",
                                            "KILN_BUILD_PLATFORM",
                                            "KILN_BUILD_SECRETS",
                                            "KILN_BUILD_SLOTS",
                                            "KILN_BUILD_TIMEOUT_SECONDS",
                                            "KILN_CACHE_MAX_BYTES",
                                            "KILN_CACHE_SHARED",
                                            "KILN_CACHE_SHARED_MAX_AGE_HOURS",
                                            "KILN_CACHE_SHARED_MAX_IMAGES",
                                            "KILN_CACHE_SHARED_REPOSITORY",
                                            "KILN_CONFIG",
                                            "KILN_DATABASE_POOL_SIZE",
                                            "KILN_DATABASE_QUERY_URL",
                                            "KILN_DATABASE_URL",
                                            "KILN_DISPATCH_GLOBAL_LIMIT",
                                            "KILN_DISPATCH_MAX_ATTEMPTS",
                                            "KILN_DISPATCH_STUCK_SECONDS",
                                            "KILN_DISPATCH_WORKER_LOST_SECONDS",
                                            "KILN_GIT_CREDENTIALS",
                                            "KILN_GIT_SSH_KEY",
                                            "KILN_HTTP_BODY_TIMEOUT_MS",
                                            "KILN_HTTP_CORS_ORIGINS",
                                            "KILN_HTTP_HOST",
                                            "KILN_HTTP_IDLE_TIMEOUT_MS",
                                            "KILN_HTTP_MAX_REQUESTS_PER_CONNECTION",
                                            "KILN_HTTP_MAX_STREAMS",
                                            "KILN_HTTP_PORT",
                                            "KILN_HTTP_THREADS",
                                            "KILN_INSTANCE",
                                            "KILN_LOG_LEVEL",
                                            "KILN_MIGRATIONS_DIR",
                                            "KILN_NATS_CREDENTIALS_FILE",
                                            "KILN_NATS_REPLICAS",
                                            "KILN_NATS_URL",
                                            "KILN_PUSH_HEARTBEAT_SECONDS",
                                            "KILN_PUSH_RETRY_WINDOW_SECONDS",
                                            "KILN_PUSH_SLOTS",
                                            "KILN_REGISTRY_ALLOWED",
                                            "KILN_REGISTRY_DEFAULT",
                                            "KILN_REGISTRY_DOCKER_CONFIG",
                                            "KILN_REGISTRY_INSECURE",
                                            "KILN_REGISTRY_PARALLELISM",
                                            "KILN_SCHEDULER_LEASE_SECONDS",
                                            "KILN_SCHEDULER_SNAPSHOT_EVERY_EVENTS",
                                            "KILN_SECRETS_DIR",
                                            "KILN_SECRETS_KEY_FILE",
                                            "KILN_SECRETS_SERVER_TENANTS",
                                            "KILN_STAGING_MAX_AGE_HOURS",
                                            "KILN_STAGING_REGISTRY",
                                            "KILN_STAGING_REPOSITORY",
                                            "KILN_SOURCES_LOCAL_TENANTS",
                                            "KILN_STREAMS_LOGS_MAX_BYTES",
                                            "KILN_STREAMS_UPLOADS_MAX_BYTES",
                                            "KILN_TENANTS_IMAGE_PREFIXES",
                                            "KILN_UPLOADS_MAX_BYTES",
                                            "KILN_WEBHOOK_MAX_BODY_BYTES",
                                            "KILN_WEBHOOK_MAX_SECRETS_TRIED",
                                            "KILN_WEBHOOK_PUBLISH_TIMEOUT_MS",
                                            "KILN_WEB_ROOT",
                                            "KILN_WORKER_ID",
                                            "KILN_WORK_DIR"};

const std::vector<OtherVariable> kOtherVariables = {
    {"KILN_REGISTRY_USERNAME", "kiln-pusher: registry user (with KILN_REGISTRY_PASSWORD)"},
    {"KILN_REGISTRY_PASSWORD", "kiln-pusher: registry password or token"},
    {"KILN_FAILPOINTS", "test builds only (-DKILN_FAILPOINTS=ON): faults to inject"},
    {"KILN_API_URL", "kiln CLI: webhook-ingest's command API"},
    {"KILN_QUERY_URL", "kiln CLI: analytics' query API"},
    {"KILN_TOKEN", "kiln CLI: bearer token"},
    {"KILN_CLI_CONFIG", "kiln CLI: its config file"},
    {"KILN_HOME", "infra/: where the local stack keeps its data, logs and pid files"},
    {"KILN_BUILD_DIR", "infra/services.sh: the build directory of the binaries"},
    {"KILN_REGISTRY", "infra/: the local registry's host:port"},
    {"KILN_NATS_PORT", "infra/stack.sh: nats-server port"},
    {"KILN_NATS_MONITOR_PORT", "infra/stack.sh: nats-server monitoring port"},
    {"KILN_NATS_ROUTE_PORT", "infra/stack.sh: the first cluster node's route port"},
    {"KILN_NATS_CLUSTER", "infra/stack.sh: nats-server nodes to run (a cluster when over 1)"},
    {"KILN_PG_PORT", "infra/stack.sh: PostgreSQL port"},
    {"KILN_PG_BIN", "infra/stack.sh: PostgreSQL's bin directory"},
    {"KILN_REGISTRY_PORT", "infra/stack.sh: registry port"},
    {"KILN_START_TIMEOUT", "infra/stack.sh: seconds to wait for a server to start"},
    {"KILN_STOP_TIMEOUT", "infra/stack.sh: seconds to wait for a server to stop"},
    {"KILN_ANALYTICS_PORT", "infra/services.sh: analytics' HTTP port"},
    {"KILN_SCHEDULER_PORT", "infra/services.sh: the scheduler's HTTP port"},
    {"KILN_BUILDER_PORT", "infra/services.sh: the builder's HTTP port"},
    {"KILN_PUSHER_PORT", "infra/services.sh: the pusher's HTTP port"},
    {"KILN_WEBHOOK_INGEST_PORT", "infra/services.sh: webhook-ingest's HTTP port"},
    {"KILN_NODE_PREFIX", "Makefile, infra/node.sh: where Node is installed"},
    {"KILN_NODE_VERSION", "infra/node.sh: the Node version to install"},
    {"KILN_NPM_VERSION", "infra/node.sh: the npm version to install"},
    {"KILN_BUSYBOX", "infra/base-image.sh: the busybox binary of the base image"},
    {"KILN_KEEP_TEST_LOGS", "tests: keep the servers' logs after a test"},
    {"KILN_FUZZ_SECONDS", "tests/fuzz: seconds per target"},
    {"KILN_FUZZ_CRASH_DIR", "tests/fuzz: where crashes are written"},
    {"KILN_FUZZ_CORPUS", "tests/fuzz: the corpus directory"},
    {"KILN_FUZZ_TARGETS", "tests/fuzz: the targets to run"},
    {"KILN_BENCH_BUILDS", "tests/web/bench.mjs: builds to list"},
    {"KILN_BENCH_LINES", "tests/web/bench.mjs: log lines to render"},
    {"KILN_CHROMIUM", "tests/web: the browser"},
    {"KILN_WEB_URL", "tests/web: the dashboard's URL"},
    {"KILN_ANALYTICS_URL", "web/ dev server: analytics' URL"},
    {"KILN_COMMAND_URL", "tests/web: webhook-ingest's URL"},
    {"KILN_WEB_NO_CORS_CHECK", "tests/web: skip the cross-origin check"},
};

}  // namespace

const std::vector<OtherVariable>& other_kiln_variables() { return kOtherVariables; }

const std::set<std::string>& kiln_environment() {
  static const std::set<std::string> names = [] {
    std::set<std::string> all(std::begin(kOptionVariables), std::end(kOptionVariables));
    for (const auto& v : kOtherVariables) all.insert(v.name);
    return all;
  }();
  return names;
}

std::set<std::string> option_variables() {
  return {std::begin(kOptionVariables), std::end(kOptionVariables)};
}

}  // namespace kiln::service
