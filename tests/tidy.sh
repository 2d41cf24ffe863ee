#!/usr/bin/env bash
# clang-tidy with the agreed checks of .clang-tidy over kiln's production sources (libs/,
# services/, cli/), using the compile commands of the test build: `tests/tidy.sh [build dir]`.
# Prints every finding and exits 1 when there is one.
set -uo pipefail
build_dir=$(cd "${1:-build-test}" && pwd)
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "${out}"' EXIT
# GCC-only warning flags of the build are unknown to clang; the sanitizer flags are fine.
git ls-files 'libs/*.cpp' 'services/*.cpp' 'cli/*.cpp' |
  xargs -P "$(nproc)" -n 4 clang-tidy -p "${build_dir}" --quiet \
    --extra-arg=-Wno-unknown-warning-option >"${out}" 2>/dev/null
status=$?
files=$(git ls-files 'libs/*.cpp' 'services/*.cpp' 'cli/*.cpp' | wc -l)
findings=$(grep -c -E ': (warning|error): ' "${out}")
if ((status != 0 || findings > 0)); then
  cat "${out}"
  echo "clang-tidy: ${findings} finding(s) in ${files} files" >&2
  exit 1
fi
echo "clang-tidy: ${files} files, no finding"
