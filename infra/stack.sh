#!/usr/bin/env bash
# kiln's local stack: a JetStream nats-server, a PostgreSQL cluster and a docker-registry, all
# real servers from Debian packages, each on a loopback port, with its state, pid file and log
# in a directory of the project's own (${KILN_HOME:-<repo>/.kiln}). See usage() below.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_ROOT
readonly KILN_HOME=${KILN_HOME:-${REPO_ROOT}/.kiln}
readonly NATS_PORT=${KILN_NATS_PORT:-4222}
readonly NATS_MONITOR_PORT=${KILN_NATS_MONITOR_PORT:-8222}
readonly NATS_ROUTE_PORT=${KILN_NATS_ROUTE_PORT:-6222}
readonly PG_PORT=${KILN_PG_PORT:-5432}
readonly REGISTRY_PORT=${KILN_REGISTRY_PORT:-5000}
readonly START_TIMEOUT=${KILN_START_TIMEOUT:-60}
readonly STOP_TIMEOUT=${KILN_STOP_TIMEOUT:-30}

readonly RUN_DIR=${KILN_HOME}/run
# Passwords: NATS credentials files (nats-<user>, user:password) and PostgreSQL's (pgpass), 0600.
readonly CREDENTIALS_DIR=${KILN_HOME}/credentials
readonly NATS_AUTH_CONFIG=${RUN_DIR}/nats-auth.conf
readonly PGPASS_FILE=${CREDENTIALS_DIR}/pgpass
# Where the superuser's psql reaches PostgreSQL: a Unix socket only root and postgres can use.
readonly PG_SOCKET_DIR=${RUN_DIR}/pg-socket
# kiln-nats-auth renders kiln's NATS users and permissions (libs/bus/permissions.cpp).
readonly BUILD_DIR=${KILN_BUILD_DIR:-${REPO_ROOT}/build}
readonly LOG_DIR=${KILN_HOME}/logs
readonly NATS_STORE=${KILN_HOME}/nats
# How many nats-server nodes `start` ran (1, or a cluster's size).
readonly NATS_NODES_FILE=${RUN_DIR}/nats-nodes
readonly PG_DATA=${KILN_HOME}/pg
readonly REGISTRY_DIR=${KILN_HOME}/registry
readonly REGISTRY_CONFIG=${REGISTRY_DIR}/config.yml
readonly REGISTRY_PID=${RUN_DIR}/registry.pid
# What `start` last used, so that `env` and `status` report the ports actually listening.
readonly ENV_FILE=${RUN_DIR}/env

usage() {
  cat <<EOF
Usage: infra/stack.sh start [--no-base-image] [--nats-cluster N] | stop | restart | status | env

Manages kiln's local stack in \$KILN_HOME (now ${KILN_HOME}):
  nats-server  JetStream, file store in nats/       port \$KILN_NATS_PORT (4222),
                                                   monitoring \$KILN_NATS_MONITOR_PORT (8222, 0 = off)
               --nats-cluster N (or KILN_NATS_CLUSTER=N): N nodes n1..nN on consecutive ports
               from those, routes from \$KILN_NATS_ROUTE_PORT (6222), stores in nats/n<i>/;
               env then lists every node's URL and KILN_NATS_REPLICAS=N
  postgres     cluster in pg/, database "kiln"     port \$KILN_PG_PORT (5432)
  registry     docker-registry, data in registry/  port \$KILN_REGISTRY_PORT (5000), plain HTTP
All listen on 127.0.0.1 only; logs go to logs/, pid files to run/.
The control plane is closed: nats-server admits only kiln's users, one per service with only its
subjects plus "admin" (kiln-nats-auth, from \$KILN_BUILD_DIR, default build/), and PostgreSQL
asks for passwords: kiln_analytics (owner, writer), kiln_query (read-only); the superuser only
through a Unix socket in run/. Passwords are made once, in credentials/ (mode 0600).

  start    start whatever is not running, wait until each is ready, then push the base image
           kiln/busybox:latest to the registry (infra/base-image.sh) unless --no-base-image
  stop     stop everything (SIGTERM, or a fast shutdown for postgres; SIGKILL after
           \$KILN_STOP_TIMEOUT seconds, default 30)
  status   one line per server; exit status 0 only if all three are running
  env      export lines for kiln's services:  eval "\$(infra/stack.sh env)"
EOF
}

log() { printf 'stack: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

pg_bin_dir() {
  local dir
  if [[ -n ${KILN_PG_BIN:-} ]]; then
    echo "${KILN_PG_BIN}"
    return
  fi
  # The newest installed major version, e.g. /usr/lib/postgresql/15/bin.
  dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null |
    sort -V | tail -n1)
  [[ -n ${dir} ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql (run infra/install.sh)"
  echo "${dir}"
}

# ---- processes ------------------------------------------------------------------------------

# True if `pid` is a live (not zombie) process whose command name is `name`. Guards against
# stale pid files whose pid now belongs to something else.
process_is() {
  local pid=$1 name=$2 state
  [[ ${pid} =~ ^[0-9]+$ ]] || return 1
  [[ $(cat "/proc/${pid}/comm" 2>/dev/null) == "${name}" ]] || return 1
  # A killed server stays a zombie until its parent (often PID 1 here) reaps it.
  state=$(awk '{print $3}' "/proc/${pid}/stat" 2>/dev/null) || return 1
  [[ ${state} != Z ]]
}

# Prints the pid in `pid_file` if that process is alive and is `name`.
running_pid() {
  local pid_file=$1 name=$2 pid
  [[ -f ${pid_file} ]] || return 1
  pid=$(head -n1 "${pid_file}")
  process_is "${pid}" "${name}" && echo "${pid}"
}

port_is_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Polls `check` (a command) every 100 ms until it succeeds. Fails early, with the log's tail,
# if the server process dies, and after START_TIMEOUT seconds.
wait_ready() {
  local what=$1 pid=$2 name=$3 log_file=$4
  shift 4
  local deadline=$((SECONDS + START_TIMEOUT))
  until "$@"; do
    if ! process_is "${pid}" "${name}"; then
      tail -n 20 "${log_file}" >&2 || true
      die "${what} exited during start-up (log: ${log_file})"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 20 "${log_file}" >&2 || true
      die "${what} not ready after ${START_TIMEOUT}s (log: ${log_file})"
    fi
    sleep 0.1
  done
}

# Sends SIGTERM, waits up to STOP_TIMEOUT seconds, then SIGKILL.
terminate() {
  local what=$1 pid=$2 name=$3
  kill -TERM "${pid}" 2>/dev/null || return 0
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while process_is "${pid}" "${name}"; do
    if ((SECONDS >= deadline)); then
      log "${what} (pid ${pid}) still running after ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "${pid}" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
}

# Starts `cmd...` detached from this shell (own session, no terminal), appending to `log_file`,
# and records its pid. setsid execs in place here (a non-interactive shell's background job is
# not a process group leader), so $! is the server itself.
spawn() {
  local pid_file=$1 log_file=$2
  shift 2
  setsid "$@" >>"${log_file}" 2>&1 </dev/null &
  echo $! >"${pid_file}"
}

require_free_port() {
  local what=$1 port=$2
  if port_is_open "${port}"; then
    die "port ${port} for ${what} is already in use by another process (see: ss -ltnp 'sport = :${port}')"
  fi
}

# ---- nats-server ----------------------------------------------------------------------------
# One node, or a cluster of N (node i on NATS_PORT+i-1, monitoring NATS_MONITOR_PORT+i-1, routes
# on NATS_ROUTE_PORT+i-1). A single node keeps the paths it always had (nats/, nats.pid).

nats_nodes() { cat "${NATS_NODES_FILE}" 2>/dev/null || echo 1; }
nats_pid_file() { (($2 == 1)) && echo "${RUN_DIR}/nats.pid" || echo "${RUN_DIR}/nats-n$1.pid"; }
nats_log_file() { (($2 == 1)) && echo "${LOG_DIR}/nats.log" || echo "${LOG_DIR}/nats-n$1.log"; }
nats_store() { (($2 == 1)) && echo "${NATS_STORE}" || echo "${NATS_STORE}/n$1"; }
nats_urls() {
  local nodes=$1 i urls=""
  for ((i = 1; i <= nodes; i++)); do urls+="${urls:+,}nats://127.0.0.1:$((NATS_PORT + i - 1))"; done
  echo "${urls}"
}

nats_ready() {
  local node=$1
  if ((NATS_MONITOR_PORT > 0)); then
    # /healthz answers 200 only once JetStream is up (on a cluster: and in touch with its leader).
    curl -fsS -o /dev/null --max-time 2 \
      "http://127.0.0.1:$((NATS_MONITOR_PORT + node - 1))/healthz" 2>/dev/null
  else
    port_is_open "$((NATS_PORT + node - 1))"
  fi
}

# Credentials files for every NATS user (kept across starts) and the authorization block that
# every node loads.
write_nats_auth() {
  local tool=${BUILD_DIR}/tools/nats-auth/kiln-nats-auth
  [[ -x ${tool} ]] || die "${tool} not built (run: make build)"
  mkdir -p "${CREDENTIALS_DIR}"
  chmod 0700 "${CREDENTIALS_DIR}"
  (umask 077 && "${tool}" --credentials-dir "${CREDENTIALS_DIR}" >"${NATS_AUTH_CONFIG}.tmp") ||
    die "kiln-nats-auth failed"
  mv "${NATS_AUTH_CONFIG}.tmp" "${NATS_AUTH_CONFIG}"
}

start_nats() {
  local nodes=$1 i j pid routes
  if [[ -f ${NATS_NODES_FILE} ]] && (($(nats_nodes) != nodes)); then
    die "nats-server runs as $(nats_nodes) node(s); stop the stack before changing --nats-cluster"
  fi
  command -v nats-server >/dev/null || die "nats-server not found (run infra/install.sh)"
  write_nats_auth
  echo "${nodes}" >"${NATS_NODES_FILE}"
  # Every node first: a cluster node reports healthy only once a quorum is up.
  for ((i = 1; i <= nodes; i++)); do
    if pid=$(running_pid "$(nats_pid_file "${i}" "${nodes}")" nats-server); then
      log "nats-server n${i} already running (pid ${pid})"
      continue
    fi
    local port=$((NATS_PORT + i - 1))
    require_free_port nats-server "${port}"
    local args=(-c "${NATS_AUTH_CONFIG}" -js -a 127.0.0.1 -p "${port}"
      -sd "$(nats_store "${i}" "${nodes}")")
    if ((nodes == 1)); then
      args+=(-n kiln-local)
    else
      routes=""
      for ((j = 1; j <= nodes; j++)); do
        ((j == i)) || routes+="${routes:+,}nats://127.0.0.1:$((NATS_ROUTE_PORT + j - 1))"
      done
      require_free_port "nats-server routes" "$((NATS_ROUTE_PORT + i - 1))"
      args+=(-n "n${i}" --cluster_name kiln-local
        --cluster "nats://127.0.0.1:$((NATS_ROUTE_PORT + i - 1))" --routes "${routes}")
    fi
    if ((NATS_MONITOR_PORT > 0)); then
      require_free_port "nats-server monitoring" "$((NATS_MONITOR_PORT + i - 1))"
      args+=(-m "$((NATS_MONITOR_PORT + i - 1))")
    fi
    mkdir -p "$(nats_store "${i}" "${nodes}")"
    spawn "$(nats_pid_file "${i}" "${nodes}")" "$(nats_log_file "${i}" "${nodes}")" nats-server \
      "${args[@]}"
  done
  for ((i = 1; i <= nodes; i++)); do
    pid=$(cat "$(nats_pid_file "${i}" "${nodes}")")
    wait_ready "nats-server n${i}" "${pid}" nats-server "$(nats_log_file "${i}" "${nodes}")" \
      nats_ready "${i}"
  done
  log "nats-server ready on $(nats_urls "${nodes}") (${nodes} node(s))"
}

stop_nats() {
  local nodes i pid pid_file
  nodes=$(nats_nodes)
  for ((i = 1; i <= nodes; i++)); do
    pid_file=$(nats_pid_file "${i}" "${nodes}")
    if pid=$(running_pid "${pid_file}" nats-server); then
      terminate "nats-server n${i}" "${pid}" nats-server
      log "nats-server n${i} stopped"
    fi
    rm -f "${pid_file}"
  done
  rm -f "${NATS_NODES_FILE}"
}

# ---- PostgreSQL -----------------------------------------------------------------------------

as_postgres() { runuser -u postgres -- "$@"; }

pg_running_pid() { running_pid "${PG_DATA}/postmaster.pid" postgres; }

pg_ready() { "${PG_BIN}/pg_isready" -q -h 127.0.0.1 -p "${PG_PORT}" -d postgres -U postgres; }

pg_init() {
  [[ -f ${PG_DATA}/PG_VERSION ]] && return
  id postgres >/dev/null 2>&1 || die "no 'postgres' user (install the postgresql package)"
  log "creating PostgreSQL cluster in ${PG_DATA}"
  mkdir -p "${PG_DATA}"
  chown postgres:postgres "${PG_DATA}"
  chmod 0700 "${PG_DATA}"
  as_postgres test -w "${PG_DATA}" ||
    die "user postgres cannot write ${PG_DATA}; every parent directory must be searchable by it"
  # trust only until the first start: write_pg_access replaces pg_hba.conf before every start.
  as_postgres "${PG_BIN}/initdb" -D "${PG_DATA}" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    >>"${LOG_DIR}/postgres-initdb.log" 2>&1 ||
    { tail -n 20 "${LOG_DIR}/postgres-initdb.log" >&2; die "initdb failed"; }
  # TCP on loopback only; no Unix socket, so nothing collides with a system cluster's socket in
  # /var/run/postgresql. The port is given on each start (it may change between starts).
  cat >>"${PG_DATA}/postgresql.conf" <<'EOF'

# kiln local stack (infra/stack.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
EOF
}

# The password of role $1, made once.
pg_password() {
  local file=${CREDENTIALS_DIR}/postgres-$1
  if [[ ! -s ${file} ]]; then
    (umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"${file}")
  fi
  cat "${file}"
}

# Passwords over TCP for everyone; the superuser also through the private socket, as postgres.
write_pg_access() {
  mkdir -p "${CREDENTIALS_DIR}" "${PG_SOCKET_DIR}"
  chmod 0700 "${CREDENTIALS_DIR}"
  chown postgres:postgres "${PG_SOCKET_DIR}"
  chmod 0700 "${PG_SOCKET_DIR}"
  printf '%s\n' '# Written by infra/stack.sh on every start; edits are overwritten.' \
    'local all postgres peer' 'host all all 127.0.0.1/32 scram-sha-256' >"${PG_DATA}/pg_hba.conf"
  chown postgres:postgres "${PG_DATA}/pg_hba.conf"
  (umask 077 && printf '127.0.0.1:*:kiln:%s:%s\n' \
    kiln_analytics "$(pg_password kiln_analytics)" \
    kiln_query "$(pg_password kiln_query)" >"${PGPASS_FILE}")
}

start_postgres() {
  local pid
  if pid=$(pg_running_pid); then
    log "postgres already running (pid ${pid})"
    return
  fi
  require_free_port postgres "${PG_PORT}"
  pg_init
  write_pg_access
  local log_file=${LOG_DIR}/postgres.log
  touch "${log_file}"
  chown postgres:postgres "${log_file}" # pg_ctl opens it as postgres
  # pg_ctl detaches the postmaster (its own session) and -w waits until it accepts connections.
  as_postgres "${PG_BIN}/pg_ctl" -D "${PG_DATA}" -l "${log_file}" -o "-p ${PG_PORT} -k ${PG_SOCKET_DIR}" \
    -w -t "${START_TIMEOUT}" start >/dev/null ||
    { tail -n 20 "${log_file}" >&2; die "postgres did not start (log: ${log_file})"; }
  pid=$(pg_running_pid) || die "postgres started but ${PG_DATA}/postmaster.pid names no live postgres"
  wait_ready postgres "${pid}" postgres "${log_file}" pg_ready
  local psql=(as_postgres "${PG_BIN}/psql" -h "${PG_SOCKET_DIR}" -p "${PG_PORT}" -U postgres -X -q -tA)
  if [[ $("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'kiln'") != 1 ]]; then
    "${psql[@]}" -d postgres -c 'CREATE DATABASE kiln'
    log "created database kiln"
  fi
  # roles.sql goes in on stdin: the postgres user need not be able to read the checkout.
  "${psql[@]}" -d kiln -v analytics_password="$(pg_password kiln_analytics)" \
    -v query_password="$(pg_password kiln_query)" -f - <"${REPO_ROOT}/infra/postgres/roles.sql" ||
    die "setting up kiln's PostgreSQL roles failed"
  log "postgres ready on 127.0.0.1:${PG_PORT} (pid ${pid})"
}

stop_postgres() {
  local pid
  pid=$(pg_running_pid) || return 0
  # Fast shutdown (SIGINT): disconnects clients and checkpoints. SIGTERM would be a "smart"
  # shutdown that waits for every client (kiln's services) to leave on its own.
  if ! as_postgres "${PG_BIN}/pg_ctl" -D "${PG_DATA}" -m fast -w -t "${STOP_TIMEOUT}" stop >/dev/null; then
    log "postgres did not stop within ${STOP_TIMEOUT}s; immediate shutdown"
    as_postgres "${PG_BIN}/pg_ctl" -D "${PG_DATA}" -m immediate -w -t 10 stop >/dev/null ||
      kill -KILL "${pid}" 2>/dev/null || true
  fi
  log "postgres stopped"
}

# ---- docker-registry ------------------------------------------------------------------------

registry_ready() {
  [[ $(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 \
    "http://127.0.0.1:${REGISTRY_PORT}/v2/" 2>/dev/null) == 200 ]]
}

write_registry_config() {
  mkdir -p "${REGISTRY_DIR}/data"
  cat >"${REGISTRY_CONFIG}" <<EOF
# Written by infra/stack.sh on every start; edits are overwritten.
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: "${REGISTRY_DIR}/data"
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${REGISTRY_PORT}
  headers:
    X-Content-Type-Options: [nosniff]
EOF
}

start_registry() {
  local pid
  if pid=$(running_pid "${REGISTRY_PID}" docker-registry); then
    log "docker-registry already running (pid ${pid})"
    return
  fi
  command -v docker-registry >/dev/null || die "docker-registry not found (run infra/install.sh)"
  require_free_port docker-registry "${REGISTRY_PORT}"
  write_registry_config
  spawn "${REGISTRY_PID}" "${LOG_DIR}/registry.log" docker-registry serve "${REGISTRY_CONFIG}"
  pid=$(cat "${REGISTRY_PID}")
  wait_ready docker-registry "${pid}" docker-registry "${LOG_DIR}/registry.log" registry_ready
  log "docker-registry ready on http://127.0.0.1:${REGISTRY_PORT} (pid ${pid})"
}

stop_registry() {
  local pid
  if pid=$(running_pid "${REGISTRY_PID}" docker-registry); then
    terminate docker-registry "${pid}" docker-registry
    log "docker-registry stopped"
  fi
  rm -f "${REGISTRY_PID}"
}

# ---- commands -------------------------------------------------------------------------------

env_lines() {
  printf 'export KILN_HOME=%q\n' "${KILN_HOME}"
  local nodes
  nodes=$(nats_nodes)
  printf 'export KILN_NATS_URL=%q\n' "$(nats_urls "${nodes}")"
  printf 'export KILN_NATS_REPLICAS=%q\n' "${nodes}"
  printf 'export KILN_NATS_CREDENTIALS_FILE=%q\n' "${CREDENTIALS_DIR}/nats-admin"
  printf 'export KILN_DATABASE_URL=%q\n' \
    "postgresql://kiln_analytics@127.0.0.1:${PG_PORT}/kiln?passfile=${PGPASS_FILE}"
  printf 'export KILN_DATABASE_QUERY_URL=%q\n' \
    "postgresql://kiln_query@127.0.0.1:${PG_PORT}/kiln?passfile=${PGPASS_FILE}"
  printf 'export KILN_REGISTRY=%q\n' "127.0.0.1:${REGISTRY_PORT}"
}

cmd_start() {
  local base_image=true nats_nodes=${KILN_NATS_CLUSTER:-1}
  while (($#)); do
    case "$1" in
      --no-base-image) base_image=false ;;
      --nats-cluster)
        (($# >= 2)) || { usage >&2; exit 2; }
        nats_nodes=$2
        shift
        ;;
      *) usage >&2; exit 2 ;;
    esac
    shift
  done
  [[ ${nats_nodes} =~ ^[1-9]$ ]] || die "--nats-cluster takes a node count from 1 to 9"

  [[ ${EUID} -eq 0 ]] || die "must run as root (PostgreSQL is started as the postgres user via runuser)"
  mkdir -p "${RUN_DIR}" "${LOG_DIR}"
  start_postgres
  start_nats "${nats_nodes}"
  start_registry
  env_lines >"${ENV_FILE}"
  if ${base_image}; then
    "${REPO_ROOT}/infra/base-image.sh" "127.0.0.1:${REGISTRY_PORT}" "${KILN_HOME}/buildah" >/dev/null
  fi
  log "up; for kiln's services: eval \"\$(${REPO_ROOT}/infra/stack.sh env)\""
}

cmd_stop() {
  stop_registry
  stop_nats
  stop_postgres
  rm -f "${ENV_FILE}"
}

cmd_status() {
  local pid all_up=0
  report() {
    local name=$1 pid=$2 where=$3
    if [[ -n ${pid} ]]; then
      printf '%-16s running  pid %-8s %s\n' "${name}" "${pid}" "${where}"
    else
      printf '%-16s stopped\n' "${name}"
      all_up=3
    fi
  }
  local nodes i
  nodes=$(nats_nodes)
  for ((i = 1; i <= nodes; i++)); do
    report "nats-server n${i}" "$(running_pid "$(nats_pid_file "${i}" "${nodes}")" nats-server || true)" \
      "log $(nats_log_file "${i}" "${nodes}")"
  done
  report postgres "$(pg_running_pid || true)" "log ${LOG_DIR}/postgres.log"
  report docker-registry "$(running_pid "${REGISTRY_PID}" docker-registry || true)" \
    "log ${LOG_DIR}/registry.log"
  if [[ -f ${ENV_FILE} ]]; then
    sed 's/^export /  /' "${ENV_FILE}"
  fi
  return "${all_up}"
}

cmd_env() {
  # While the stack is up, report what it was started with, not what the environment says now.
  if [[ -f ${ENV_FILE} ]]; then
    cat "${ENV_FILE}"
  else
    env_lines
  fi
}

main() {
  local command=${1:-}
  (($#)) && shift
  case "${command}" in
    start) PG_BIN=$(pg_bin_dir); cmd_start "$@" ;;
    stop) PG_BIN=$(pg_bin_dir); cmd_stop ;;
    restart) PG_BIN=$(pg_bin_dir); cmd_stop; cmd_start "$@" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
