#!/usr/bin/env bash
# Builds only the unit-test executables of a build tree (used by the sanitizer run, which does not
# need the services or the integration tests).
set -euo pipefail
build_dir=$1
jobs=${2:-2}
targets=$(sed -n 's/^kiln_test(\([a-z_]*\) LABEL unit.*/\1/p' "$(dirname "$0")/unit/CMakeLists.txt")
cmake --build "$build_dir" -j"$jobs" --target $targets
