#!/usr/bin/env bash
# Starts and stops kiln's five services as local processes against the local stack
# (infra/stack.sh), with logs in $KILN_HOME/logs and pid files in $KILN_HOME/run.
#   infra/services.sh start | stop | status
# Configuration reaches each service through KILN_* environment variables (see each
# service's --help); anything already set in the environment wins over the defaults below.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_ROOT
export KILN_HOME=${KILN_HOME:-${REPO_ROOT}/.kiln}
readonly BUILD_DIR=${KILN_BUILD_DIR:-${REPO_ROOT}/build}
readonly RUN_DIR=${KILN_HOME}/run
readonly LOG_DIR=${KILN_HOME}/logs

# name:port — ports from KILN_<SERVICE>_PORT (e.g. KILN_WEBHOOK_INGEST_PORT), default 8080-8084.
# Every service waits for NATS and reads the log from where it left off, so order is not vital.
readonly SERVICES=(
  "analytics:${KILN_ANALYTICS_PORT:-8081}"
  "scheduler:${KILN_SCHEDULER_PORT:-8082}"
  "builder:${KILN_BUILDER_PORT:-8083}"
  "pusher:${KILN_PUSHER_PORT:-8084}"
  "webhook-ingest:${KILN_WEBHOOK_INGEST_PORT:-8080}"
)

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

load_stack_env() {
  eval "$("${REPO_ROOT}/infra/stack.sh" env)"
  export KILN_API_TOKENS=${KILN_API_TOKENS:-admin:kiln-demo-admin-token:*:admin,demo:kiln-demo-token:default:build}
  export KILN_REGISTRY_DEFAULT=${KILN_REGISTRY_DEFAULT:-${KILN_REGISTRY}}
  export KILN_REGISTRY_INSECURE=${KILN_REGISTRY_INSECURE:-${KILN_REGISTRY}}
  export KILN_STAGING_REGISTRY=${KILN_STAGING_REGISTRY:-${KILN_REGISTRY}}
  export KILN_BUILDAH_ROOT=${KILN_BUILDAH_ROOT:-${KILN_HOME}/buildah}
  export KILN_ARTIFACTS_DIR=${KILN_ARTIFACTS_DIR:-${KILN_HOME}/artifacts}
  export KILN_WORK_DIR=${KILN_WORK_DIR:-${KILN_HOME}/work}
  export KILN_MIGRATIONS_DIR=${KILN_MIGRATIONS_DIR:-${REPO_ROOT}/migrations}
  export KILN_WEB_ROOT=${KILN_WEB_ROOT:-${REPO_ROOT}/web/dist}
  export KILN_SECRETS_KEY_FILE=${KILN_SECRETS_KEY_FILE:-${KILN_HOME}/secrets.key}
}

# The key that seals secrets given to one build (kiln build --secret), shared by webhook-ingest
# and the builder: 32 random bytes as hex, readable by its owner only, made once.
ensure_secrets_key() {
  [[ -f ${KILN_SECRETS_KEY_FILE} ]] && return
  mkdir -p "$(dirname "${KILN_SECRETS_KEY_FILE}")"
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"${KILN_SECRETS_KEY_FILE}")
}

# The service's NATS credentials file: KILN_<SERVICE>_NATS_CREDENTIALS_FILE (for example
# KILN_BUILDER_NATS_CREDENTIALS_FILE), else the one infra/stack.sh made.
credentials_of() {
  local variable
  variable=KILN_$(tr 'a-z-' 'A-Z_' <<<"$1")_NATS_CREDENTIALS_FILE
  echo "${!variable:-${KILN_HOME}/credentials/nats-$1}"
}

pid_of() {
  local file=${RUN_DIR}/$1.pid
  [[ -f ${file} ]] || return 1
  local pid
  pid=$(<"${file}")
  kill -0 "${pid}" 2>/dev/null || return 1
  echo "${pid}"
}

wait_ready() {
  local name=$1 port=$2 deadline=$((SECONDS + 60))
  until curl -fsS "http://127.0.0.1:${port}/readyz" >/dev/null 2>&1; do
    pid_of "${name}" >/dev/null || die "${name} exited; see ${LOG_DIR}/${name}.log"
    ((SECONDS < deadline)) || die "${name} not ready after 60 s; see ${LOG_DIR}/${name}.log"
    sleep 0.2
  done
}

start() {
  load_stack_env
  mkdir -p "${RUN_DIR}" "${LOG_DIR}" "${KILN_ARTIFACTS_DIR}" "${KILN_WORK_DIR}"
  ensure_secrets_key
  local entry name port binary
  for entry in "${SERVICES[@]}"; do
    name=${entry%%:*}
    port=${entry##*:}
    if pid=$(pid_of "${name}"); then
      log "${name} already running (pid ${pid})"
      continue
    fi
    binary=${BUILD_DIR}/services/${name}/kiln-${name}
    [[ -x ${binary} ]] || die "${binary} not built (run: make build)"
    # Each service its own NATS user (infra/stack.sh made them), never the operator's.
    KILN_HTTP_PORT=${port} KILN_NATS_CREDENTIALS_FILE=$(credentials_of "${name}") \
      setsid "${binary}" >>"${LOG_DIR}/${name}.log" 2>&1 </dev/null &
    echo $! >"${RUN_DIR}/${name}.pid"
  done
  for entry in "${SERVICES[@]}"; do
    wait_ready "${entry%%:*}" "${entry##*:}"
    log "${entry%%:*} ready on http://127.0.0.1:${entry##*:}"
  done
}

stop() {
  local entry name pid
  for entry in "${SERVICES[@]}"; do
    name=${entry%%:*}
    pid=$(pid_of "${name}") || { rm -f "${RUN_DIR}/${name}.pid"; continue; }
    kill -TERM "${pid}" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "${pid}" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "${pid}" 2>/dev/null; then
      log "${name} ignored SIGTERM for 10 s; killing"
      kill -KILL "${pid}" 2>/dev/null || true
    fi
    rm -f "${RUN_DIR}/${name}.pid"
    log "${name} stopped"
  done
}

status() {
  local entry name rc=0
  for entry in "${SERVICES[@]}"; do
    name=${entry%%:*}
    if pid=$(pid_of "${name}"); then
      echo "${name}: running (pid ${pid}, http://127.0.0.1:${entry##*:})"
    else
      echo "${name}: stopped"
      rc=1
    fi
  done
  return ${rc}
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "Usage: infra/services.sh start | stop | status" >&2; exit 2 ;;
esac
