#!/usr/bin/env bash
# Every test kiln has, in order of cost, on one build (make test builds it with ASan/UBSan):
#   format       every C++ file is as clang-format (.clang-format) writes it
#   unit         no servers
#   integration  real nats-server, PostgreSQL, docker-registry, buildah on free loopback ports
#   e2e          every service as a process, driven like users drive it
#   fuzz         webhook payload parsers and the tar checker under libFuzzer, KILN_FUZZ_SECONDS each
#   web          the dashboard: Vitest, then headless Chromium against a running kiln
# Prints one line per group at the end and fails if any group failed.
set -uo pipefail
build_dir=$(cd "${1:-build-test}" && pwd)
jobs=$(nproc)
cd "$(dirname "$0")/.."

declare -A results
groups=(format unit integration e2e fuzz web)
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
run_group unit ctest --test-dir "${build_dir}" -L unit --output-on-failure -j"${jobs}"
# A failing integration test runs once more; both results stay in the log. Known flake: under
# full load BuilderTest.StaleAttemptIsFencedByALaterDispatch once saw no outcome in 120 s
# (passes in 5 s on its own) — being investigated, not hidden: a second failure fails the run.
run_group integration ctest --test-dir "${build_dir}" -L integration --output-on-failure \
  -j"${jobs}" --repeat until-pass:2
run_group e2e ctest --test-dir "${build_dir}" -L e2e --output-on-failure
run_group fuzz bash tests/fuzz/run.sh "${KILN_FUZZ_SECONDS:-20}"
run_group web env KILN_BUILD_DIR="${build_dir}" bash tests/web/run.sh

status=0
for group in "${groups[@]}"; do
  echo "${group}: ${results[${group}]}"
  [[ ${results[${group}]} == passed* ]] || status=1
done
exit ${status}
