#!/usr/bin/env bash
# Runs every benchmark that has been built and prints their reports. Numbers, never pass/fail.
set -euo pipefail
build_dir=${1:-build}
cd "$(dirname "$0")/.."
for bench in "${build_dir}"/bench/*_bench; do
  [[ -x ${bench} ]] || continue
  echo "### $(basename "${bench}")"
  args=()
  # The rebuild of a million events is measured, not extrapolated from 200,000.
  [[ $(basename "${bench}") == analytics_bench ]] && args=(--full)
  "${bench}" "${args[@]}"
  echo
done
for script in bench/*_bench.sh; do
  [[ -f ${script} ]] || continue
  echo "### $(basename "${script}")"
  bash "${script}" "${build_dir}"
  echo
done
