#include "cli/usage.h"

namespace kiln::cli {

const char* usage() {
  return R"(Usage: kiln [global options] COMMAND [args]

Builds container images from Git repositories and follows them live.

Commands:
  build PATH -t REGISTRY/REPO[:TAG] [-f FILE] [--build-arg K=V]... [--target T] [--detach]
                               build a local directory (or `-`: a Dockerfile on stdin) and push it
  build PROJECT [--ref REF|--commit SHA] [--build-arg K=V]... [--target T] [-t TAG]... [--no-cache] [--follow]
  status BUILD                 a build's state, steps and result
  logs BUILD [-f]              a build's log, or follow it
  ls [--project P] [--status S] [--limit N]
  cancel BUILD                 cancel a queued or running build
  retry BUILD [-f]             build the same request again
  stats [--project P] [--days N]
  project apply FILE | ls | show NAME | rm NAME
  push-layout DIR IMAGE        push an OCI image layout directory to a registry
  login [URL] [--token-stdin]  check a token and store it with the URL in the config file
  logout                       remove the stored token
  whoami                       the name, tenant and roles of the token in use
  completion bash              bash completion: source <(kiln completion bash)

Global options (flag > environment > config file):
  --api URL       command API (KILN_API_URL, config api-url; default http://127.0.0.1:8080)
  --query URL     query API (KILN_QUERY_URL, config query-url; default http://127.0.0.1:8081)
  --token TOKEN   API bearer token (KILN_TOKEN, config token)
  --config FILE   config file (KILN_CLI_CONFIG; default ~/.config/kiln/config, `key = value` lines)
  --output json   machine-readable output
  -h, --help      this help; `kiln COMMAND --help` for a command's options

Exit codes: 0 ok, 1 build failed or cancelled, 2 usage error, 3 request refused by the API,
4 API unreachable or failing.
)";
}

}  // namespace kiln::cli
