#!/usr/bin/env bash
# make chaos: runs every chaos executable (ctest label `chaos`, in parallel) and prints one table:
#   case | fault | expected | observed | PASS/FAIL
# ending with the line `N passed, M failed`. Exits non-zero when a case failed or did not report.
set -uo pipefail
build_dir=$(cd "${1:-build-test}" && pwd)
log=$(mktemp)
trap 'rm -f "${log}"' EXIT
ctest --test-dir "${build_dir}" -L chaos -j"$(nproc)" --output-on-failure -V >"${log}" 2>&1
status=$?
# ctest -V prefixes each line of a test's output with "<n>: ".
lines=$(sed -n 's/^[0-9]*: CHAOS| //p' "${log}")
if [[ ${status} -ne 0 ]]; then
  grep -v ': CHAOS| ' "${log}" | tail -n 200
fi
echo "case | fault | expected | observed | result"
grep -v -E '^[0-9]+ passed, [0-9]+ failed$' <<<"${lines}"
passed=$(grep -c -E '\| PASS$' <<<"${lines}")
failed=$(grep -c -E '\| FAIL$' <<<"${lines}")
echo "${passed} passed, ${failed} failed"
[[ ${status} -eq 0 && ${failed} -eq 0 && ${passed} -gt 0 ]]
