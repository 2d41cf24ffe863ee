#!/usr/bin/env bash
# Dashboard tests: Vitest (web/), then the browser tests (tests/web/dashboard.test.mjs) in
# headless Debian chromium against a running kiln, and with --bench the benchmark (bench.mjs).
# Starts the local stack and the services (infra/stack.sh, infra/services.sh) if they are not
# running, and stops only what it started. Screenshots: tests/web/artifacts/.
#   tests/web/run.sh [--bench] [--keep]
# Environment: KILN_WEB_URL (http://127.0.0.1:8081), KILN_COMMAND_URL (http://127.0.0.1:8080),
# KILN_TOKEN (kiln-demo-admin-token), KILN_HOME and the stack's KILN_*_PORT variables.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "${HERE}/../.." && pwd)
readonly HERE REPO_ROOT
BENCH=0
KEEP=0
for arg in "$@"; do
  case ${arg} in
    --bench) BENCH=1 ;;
    --keep) KEEP=1 ;;
    *) echo "usage: tests/web/run.sh [--bench] [--keep]" >&2; exit 2 ;;
  esac
done

log() { printf 'web-tests: %s\n' "$*" >&2; }

# kiln's own node first, where infra/install.sh had to install one (infra/node.sh).
# shellcheck source=infra/node.sh
source "${REPO_ROOT}/infra/node.sh"
node_check >/dev/null || exit 1

[[ -x ${KILN_CHROMIUM:-/usr/bin/chromium} ]] || { log "no chromium: apt-get install -y chromium (infra/install.sh)"; exit 1; }

log "building the dashboard (npm ci, vitest, vite build)"
(cd "${REPO_ROOT}/web" && npm ci --no-audit --no-fund --loglevel=error && npm test && npm run build)
(cd "${HERE}" && npm ci --no-audit --no-fund --loglevel=error)

started_stack=0
started_services=0
cleanup() {
  if ((KEEP == 0)); then
    ((started_services)) && bash "${REPO_ROOT}/infra/services.sh" stop || true
    ((started_stack)) && bash "${REPO_ROOT}/infra/stack.sh" stop || true
  fi
}
trap cleanup EXIT

if ! bash "${REPO_ROOT}/infra/stack.sh" status >/dev/null 2>&1; then
  log "starting the local stack"
  started_stack=1
  bash "${REPO_ROOT}/infra/stack.sh" start
fi
eval "$(bash "${REPO_ROOT}/infra/stack.sh" env)"
export KILN_REGISTRY KILN_DATABASE_URL
web_url=${KILN_WEB_URL:-http://127.0.0.1:8081}
if ! curl -fsS "${web_url}/readyz" >/dev/null 2>&1; then
  log "starting kiln's services"
  started_services=1
  bash "${REPO_ROOT}/infra/services.sh" start
fi
curl -fsS "${web_url}/" | grep -q '<div id="app">' ||
  { log "${web_url}/ does not serve the dashboard (web.root = web/dist?)"; exit 1; }

rc=0
(cd "${HERE}" && node dashboard.test.mjs) || rc=$?
if ((BENCH)); then
  (cd "${HERE}" && node bench.mjs) || rc=$?
fi
exit ${rc}
