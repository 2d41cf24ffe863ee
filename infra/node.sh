#!/usr/bin/env bash
# kiln's Node.js, for the dashboard (web/: Vite 7, Vitest 4) and its browser tests (tests/web:
# playwright-core). Those need Node ^20.19 || ^22.12 || >=24, and Debian 12's nodejs is 18.20.4.
#
# A supported node and npm already on PATH (nodesource's, say) are used as they are. Otherwise
# Debian's nodejs and npm, which infra/install.sh installs when there is no node or npm at all,
# fetch from the npm registry the official Node binary (the package node-linux-<arch>, the one
# the npm package `node` installs) and npm itself into a prefix of kiln's own,
# KILN_NODE_PREFIX (/opt/kiln/node). The Makefile, tests/web/run.sh and infra/demo.sh put
# ${KILN_NODE_PREFIX}/bin first on PATH; when it exists it is the node kiln uses.
#
# Sourced by infra/install.sh (as root), or run on its own:
#   infra/node.sh install   as above (root, for /opt/kiln)
#   infra/node.sh check     prints the node that kiln would use; exits 1 if it is unsupported
# The functions do not change the caller's shell options; they expect `set -euo pipefail`.

KILN_NODE_PREFIX=${KILN_NODE_PREFIX:-/opt/kiln/node}
# The versions installed into KILN_NODE_PREFIX; a prefix holding another node is replaced.
KILN_NODE_VERSION=${KILN_NODE_VERSION:-24.22.3}
KILN_NPM_VERSION=${KILN_NPM_VERSION:-11.21.2}

node_log() { printf 'node: %s\n' "$*" >&2; }

# Puts ${KILN_NODE_PREFIX}/bin first on PATH, once.
node_path_prepend() {
  case ":${PATH}:" in
    *":${KILN_NODE_PREFIX}/bin:"*) ;;
    *) PATH="${KILN_NODE_PREFIX}/bin:${PATH}" ;;
  esac
  export PATH
}

# True when a `node --version` string (v20.19.0) is one that Vite 7 (^20.19.0 || >=22.12.0),
# Vitest 4 (^20 || ^22 || >=24) and playwright-core (>=20) all support.
node_supported() {
  local version=${1#v} major minor
  [[ ${version} =~ ^([0-9]+)\.([0-9]+)\.[0-9]+ ]] || return 1
  major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
  ((major == 20 && minor >= 19)) || ((major == 22 && minor >= 12)) || ((major >= 24))
}

# Prints the Debian packages to install along with the others (one per line): nodejs and npm
# when there is no node or no npm on PATH (kiln's prefix first) to work with, else nothing.
# Never apt's npm next to a node that is not Debian's: it would replace nodesource's nodejs.
node_apt_packages() {
  (
    node_path_prepend
    if ! command -v node >/dev/null; then
      printf '%s\n' nodejs npm
    elif ! command -v npm >/dev/null; then
      printf '%s\n' npm
    fi
  )
}

# The npm package with the official Node binary for this machine: node-linux-<arch>.
node_binary_package() {
  local arch
  case $(uname -m) in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) node_log "no Node binary package known for $(uname -m)"; return 1 ;;
  esac
  printf 'node-linux-%s\n' "${arch}"
}

# Makes a supported node and npm the first on PATH (see the top of this file). Quiet and quick
# when they already are: it runs `node --version` once and touches nothing.
node_install() {
  node_path_prepend
  local prefix=${KILN_NODE_PREFIX} current
  if [[ -x ${prefix}/bin/node ]]; then
    current=$("${prefix}/bin/node" --version 2>/dev/null || true)
    if [[ ${current} == "v${KILN_NODE_VERSION}" && -x ${prefix}/bin/npm ]]; then
      node_log "node ${current} and npm in ${prefix}"
      return 0
    fi
    node_log "${prefix} holds node ${current:-(broken)}, not v${KILN_NODE_VERSION}: replacing it"
  else
    current=$(node --version 2>/dev/null || true)
    if node_supported "${current}" && command -v npm >/dev/null; then
      node_log "node ${current} ($(command -v node)) is supported"
      return 0
    fi
    node_log "node ${current:-(none)} is not supported (^20.19 || ^22.12 || >=24):" \
      "installing node v${KILN_NODE_VERSION} and npm ${KILN_NPM_VERSION} into ${prefix}"
  fi
  command -v npm >/dev/null || { node_log "no npm on PATH to fetch node with"; return 1; }
  local package
  package=$(node_binary_package) || return 1

  # Into a new directory beside the prefix, which replaces the prefix only once it works.
  mkdir -p "$(dirname "${prefix}")"
  local staging
  staging=$(mktemp -d "${prefix}.new.XXXXXX")
  if ! node_install_into "${staging}" "${package}"; then
    rm -rf "${staging}"
    node_log "could not install node into ${prefix} (if it is broken, remove it and run again)"
    return 1
  fi
  chmod 755 "${staging}"
  rm -rf "${prefix}.old"
  if [[ -e ${prefix} ]]; then mv "${prefix}" "${prefix}.old"; fi
  mv "${staging}" "${prefix}"
  rm -rf "${prefix}.old"
  hash -r
  node_log "node $("${prefix}/bin/node" --version) and npm ${KILN_NPM_VERSION} in ${prefix}"
}

# npm (whichever is on PATH: Debian's 9.2 on a stock Debian 12) installs PACKAGE and npm into
# DIR/lib/node_modules, linked from DIR/bin as a global install would, then both are checked
# with DIR/bin first on PATH. Not `npm install --global`: for npm itself that refuses a version
# whose engines exclude the running node (npm 11 needs node >= 20.17), where a plain install
# only warns. npm and npx in DIR/bin run `env node`, the first node on PATH, which is why
# callers put the prefix first.
node_install_into() {
  local dir=$1 package=$2
  mkdir -p "${dir}/lib" "${dir}/bin" || return 1
  npm install --prefix "${dir}/lib" --no-save --no-package-lock --no-audit --no-fund \
    --loglevel=error "${package}@${KILN_NODE_VERSION}" "npm@${KILN_NPM_VERSION}" >&2 || return 1
  ln -s "../lib/node_modules/${package}/bin/node" "${dir}/bin/node" || return 1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "${dir}/bin/npm" || return 1
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "${dir}/bin/npx" || return 1
  # Like Debian's npm, read the machine's npm settings (proxy, registry, cafile) from
  # /etc/npmrc, rather than from a file inside the prefix.
  printf 'globalconfig=/etc/npmrc\n' >"${dir}/lib/node_modules/npm/npmrc" || return 1
  local got_node got_npm
  got_node=$("${dir}/bin/node" --version 2>/dev/null) || true
  got_npm=$(PATH="${dir}/bin:${PATH}" npm --version 2>/dev/null) || true
  if [[ ${got_node} != "v${KILN_NODE_VERSION}" || ${got_npm} != "${KILN_NPM_VERSION}" ]]; then
    node_log "installed node '${got_node}' and npm '${got_npm}', wanted" \
      "v${KILN_NODE_VERSION} and ${KILN_NPM_VERSION}"
    return 1
  fi
}

# Prints the node kiln uses (kiln's prefix first on PATH) and whether it is supported.
node_check() {
  node_path_prepend
  local current
  current=$(node --version 2>/dev/null || true)
  if node_supported "${current}"; then
    printf '%s %s\n' "$(command -v node)" "${current}"
    return 0
  fi
  node_log "node ${current:-(none)} is not supported (^20.19 || ^22.12 || >=24): run infra/install.sh"
  return 1
}

if [[ ${BASH_SOURCE[0]} == "${0}" ]]; then
  set -euo pipefail
  case "${1:-}" in
    install) node_install ;;
    check) node_check ;;
    *) echo "usage: infra/node.sh install | check" >&2; exit 2 ;;
  esac
fi
