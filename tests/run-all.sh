#!/usr/bin/env bash
# Every test kiln has, in order of cost, on one build (make test builds it with ASan/UBSan):
#   format       every C++ file is as clang-format (.clang-format) writes it
#   tidy         clang-tidy's agreed checks (.clang-tidy) on libs/, services/ and cli/
#   unit         no servers
#   integration  real nats-server, PostgreSQL, docker-registry, buildah on free loopback ports
#   security     tenants against each other, builds against the host, the closed control plane
#   e2e          every service as a process, driven like users drive it
#   chaos        real faults (kill -9 at failpoints, poisoned streams, silent steps, full disks)
#                and the untrusted-input parsers under libFuzzer (KILN_FUZZ_SECONDS each), one table
#   cluster      kiln on many hosts (network and mount namespaces on this machine): builds through
#                kill -9 of a NATS node, a builder and the leading scheduler
#   web          the dashboard: Vitest, then headless Chromium against a running kiln
# Prints one line per group at the end and fails if any group failed. No test is ever retried: a
# flaky test is a bug in the code or in the test, fixed where it is. e2e and chaos start their own
# servers on free ports and mostly wait on builds, so they run side by side.
set -uo pipefail
build_dir=$(cd "${1:-build-test}" && pwd)
jobs=$(nproc)
cd "$(dirname "$0")/.."

declare -A results
groups=(format tidy unit integration security e2e chaos cluster web)
run_group() {
  local name=$1
  shift
  echo "=== ${name} ==="
  local started=${SECONDS}
  if "$@"; then results[${name}]=passed; else results[${name}]=FAILED; fi
  results[${name}]+=" ($((SECONDS - started)) s)"
}

check_format() {
  local bad
  bad=$(git ls-files '*.cpp' '*.h' | grep -v '^web/' | xargs clang-format --dry-run -Werror 2>&1 |
    grep -c 'error:')
  ((bad == 0)) || { echo "${bad} formatting differences; run: make format" >&2; return 1; }
}

run_group format check_format
run_group tidy bash tests/tidy.sh "${build_dir}"
run_group unit ctest --test-dir "${build_dir}" -L unit --output-on-failure -j"${jobs}"
run_group integration ctest --test-dir "${build_dir}" -L integration --output-on-failure \
  -j"${jobs}"
run_group security ctest --test-dir "${build_dir}" -L security --output-on-failure -j"${jobs}"
e2e_log=$(mktemp)
e2e_started=${SECONDS}
ctest --test-dir "${build_dir}" -L e2e --output-on-failure >"${e2e_log}" 2>&1 &
e2e_job=$!
run_group chaos bash tests/chaos/run.sh "${build_dir}"
if wait "${e2e_job}"; then results[e2e]=passed; else results[e2e]=FAILED; fi
results[e2e]+=" ($((SECONDS - e2e_started)) s, beside chaos)"
echo "=== e2e ==="
cat "${e2e_log}"
rm -f "${e2e_log}"
# After e2e and chaos, not beside them: its kills and fail-overs run on timers (leases, lost
# workers) that two busy suites on a 2-core machine would stretch.
run_group cluster ctest --test-dir "${build_dir}" -L cluster --output-on-failure
run_group web env KILN_BUILD_DIR="${build_dir}" bash tests/web/run.sh

status=0
for group in "${groups[@]}"; do
  echo "${group}: ${results[${group}]}"
  [[ ${results[${group}]} == passed* ]] || status=1
done
exit ${status}
