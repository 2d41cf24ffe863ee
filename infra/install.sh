#!/usr/bin/env bash
# Installs every Debian package kiln needs to build, test and run its local stack, on Debian 12
# as root. Safe to run twice: when every package is already installed apt is not touched at all.
#
# The packages that ship daemons (docker-registry, nats-server, postgresql) start system-wide
# services on install, on the very ports kiln's local stack uses (5000, 4222, 5432). kiln runs
# its own instances (infra/stack.sh, the test fixtures), so those services are stopped and
# disabled here. On machines without systemd (containers) there may be nothing to stop.
#
# Node.js for the dashboard and its tests (infra/node.sh): Debian 12's nodejs (18) is too old
# (playwright-core refuses to run on it; Vite 7 and Vitest 4 do not support it), so where no
# supported node is on PATH, Debian's nodejs and npm fetch a supported Node and npm from the npm
# registry into /opt/kiln/node, which the Makefile and scripts put first on PATH. A supported
# node already on PATH is used as it is.
#
# nats-server comes from Debian 13 (trixie, 2.10.x) rather than Debian 12 (2.9.10): 2.9.10 stops
# answering JetStream API calls with 13 million subjects in KILN_EVENTS (a year of builds; see
# docs/operations.md), and before 2.9.21 concurrent publishes carrying the same
# Nats-Expected-Last-Subject-Sequence could all be accepted on a clustered stream, which is the
# fence kiln puts on `built` and `pushed`. Debian 13's package runs on Debian 12 (it needs only
# libc6 >= 2.34). An apt pin takes nothing else from trixie.
set -euo pipefail

INFRA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly INFRA_DIR
# shellcheck source=infra/node.sh
source "${INFRA_DIR}/node.sh"

usage() {
  cat <<'EOF'
Usage: infra/install.sh [--help]

Installs kiln's build, test and runtime dependencies from Debian 12 packages (nats-server from
Debian 13, pinned; needs root), then stops and disables the system services those packages
auto-start (docker-registry, nats-server, postgresql), which would otherwise hold the ports
kiln's own stack uses.
Without a node that the dashboard's tools support (^20.19 || ^22.12 || >=24) on PATH, it
installs one from the npm registry into /opt/kiln/node (KILN_NODE_PREFIX; infra/node.sh).
EOF
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

# nodejs and npm, only when there is no node or no npm on PATH to fetch a supported node with.
mapfile -t NODE_APT_PACKAGES < <(node_apt_packages)
readonly NODE_APT_PACKAGES

readonly PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # servers of the local stack and the build tools
  nats-server postgresql docker-registry buildah skopeo busybox-static uidmap
  slirp4netns  # RUN steps with network: out through it, never to the host (builder)
  # libraries
  libnats-dev libpqxx-dev libpoco-dev libprotobuf-dev protobuf-compiler
  libcurl4-openssl-dev libssl-dev libgtest-dev googletest libyaml-cpp-dev libarchive-dev
  # fuzzing (tests/fuzz): clang with libFuzzer
  clang libclang-rt-14-dev
  # static analysis in make test (tests/tidy.sh, .clang-tidy)
  clang-tidy
  # scripts and tests: curl/jq for HTTP checks, htpasswd (apache2-utils) for registry auth
  curl jq ca-certificates apache2-utils netcat-openbsd
  iproute2  # the multi-host test (tests/cluster): hosts in network namespaces on a bridge
  systemd  # systemd-analyze verifies infra/systemd in the tests
  chromium  # dashboard browser tests (tests/web, playwright-core)
  "${NODE_APT_PACKAGES[@]}"
)

readonly NATS_MIN_VERSION=2.10
readonly TRIXIE_SOURCES=/etc/apt/sources.list.d/kiln-trixie.sources
readonly TRIXIE_PIN=/etc/apt/preferences.d/kiln-trixie

# Services the packages above start on install and that would collide with kiln's own.
readonly CONFLICTING_SERVICES=(docker-registry nats-server postgresql)

log() { printf 'install: %s\n' "$*" >&2; }

if [[ ${EUID} -ne 0 ]]; then
  log "must run as root (it calls apt-get); try: sudo $0"
  exit 1
fi

# Prints the packages of PACKAGES that are not fully installed, one per line. One dpkg-query
# for all of them; it exits non-zero when some package is unknown, which only means "missing".
missing_packages() {
  local -A installed=()
  local name status
  while read -r name status; do
    # Status "ii": wanted installed, is installed, no error flag.
    [[ ${status} == ii ]] && installed[${name}]=1
  done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)
  for name in "${PACKAGES[@]}"; do
    [[ -n ${installed[${name}]:-} ]] || printf '%s\n' "${name}"
  done
  if [[ -n ${installed[nats-server]:-} ]] && ! nats_server_is_recent; then
    printf '%s\n' nats-server
  fi
}

nats_server_is_recent() {
  local version
  version=$(dpkg-query -W -f='${Version}' nats-server 2>/dev/null) || return 1
  dpkg --compare-versions "${version}" ge "${NATS_MIN_VERSION}"
}

# Debian 13's archive as a source whose packages apt never picks, except nats-server.
add_trixie_for_nats_server() {
  if [[ ! -f ${TRIXIE_SOURCES} ]]; then
    cat >"${TRIXIE_SOURCES}" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  cat >"${TRIXIE_PIN}" <<'EOF'
Package: *
Pin: release n=trixie
Pin-Priority: 1

Package: nats-server
Pin: release n=trixie
Pin-Priority: 990
EOF
}

install_missing() {
  local missing
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    log "all ${#PACKAGES[@]} packages already installed"
    return
  fi
  log "installing ${#missing[@]} missing package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  add_trixie_for_nats_server
  apt-get update
  apt-get install -y "${PACKAGES[@]}"
  nats_server_is_recent || {
    log "nats-server $(dpkg-query -W -f='${Version}' nats-server) is older than ${NATS_MIN_VERSION}"
    exit 1
  }
}

systemd_is_running() { [[ -d /run/systemd/system ]]; }

# Stops a service and keeps it from starting at boot. Never fails: a missing service or a
# machine without an init system is fine.
stop_and_disable() {
  local service=$1
  if systemd_is_running; then
    if systemctl list-unit-files "${service}.service" 2>/dev/null | grep -q "^${service}.service"; then
      if systemctl is-active --quiet "${service}" || systemctl is-enabled --quiet "${service}"; then
        log "stopping and disabling systemd service ${service}"
        systemctl disable --now "${service}" >/dev/null 2>&1 || log "could not disable ${service}"
      fi
    fi
  elif [[ -x /etc/init.d/${service} ]]; then
    if service "${service}" status >/dev/null 2>&1; then
      log "stopping service ${service}"
      service "${service}" stop >/dev/null 2>&1 || log "could not stop ${service}"
    fi
    if command -v update-rc.d >/dev/null; then
      update-rc.d "${service}" disable >/dev/null 2>&1 || true
    fi
  fi
}

install_missing
node_install
for service in "${CONFLICTING_SERVICES[@]}"; do
  stop_and_disable "${service}"
done
log "done"
