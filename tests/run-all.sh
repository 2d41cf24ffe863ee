#!/usr/bin/env bash
# Every test kiln has, in order of cost: unit tests, integration tests against real servers,
# end-to-end tests with every service as a process, the unit tests again under ASan/UBSan, and
# the webhook payload parsers under libFuzzer for a bounded time (KILN_FUZZ_SECONDS per target).
# Prints one summary line at the end and fails if any group failed.
set -uo pipefail
build_dir=${1:-build}
asan_dir=${2:-build-asan}
jobs=$(nproc)
cd "$(dirname "$0")/.."

declare -A results
run_group() {
  local name=$1
  shift
  echo "=== $name ==="
  if "$@"; then results[$name]=passed; else results[$name]=FAILED; fi
}

run_group unit ctest --test-dir "$build_dir" -L unit --output-on-failure -j"$jobs"
run_group integration ctest --test-dir "$build_dir" -L integration --output-on-failure -j"$jobs"
run_group e2e ctest --test-dir "$build_dir" -L e2e --output-on-failure
run_group asan make --no-print-directory test-asan ASAN_DIR="$asan_dir"
run_group fuzz bash tests/fuzz/run.sh "${KILN_FUZZ_SECONDS:-30}"

status=0
for group in unit integration e2e asan fuzz; do
  echo "$group: ${results[$group]}"
  [ "${results[$group]}" = passed ] || status=1
done
exit $status
