#!/usr/bin/env bash
# Builds webhook-ingest's libFuzzer targets with clang (independent of the main GCC build) and
# runs each for a bounded time from its seed corpus: `tests/fuzz/run.sh [seconds per target]`.
# New inputs go to a scratch directory, never into the committed corpus. Exit 1 on a crash or
# when a target goes over 2 GiB of memory; the last line sums each target up:
#   FUZZ| github 81234 runs, peak 61 MB; gitlab ...
set -euo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/kiln-fuzz.XXXXXX")
# Inputs that crash a target are kept here (outside the scratch directory) for debugging.
crashes=${KILN_FUZZ_CRASH_DIR:-${TMPDIR:-/tmp}/kiln-fuzz-crashes}
mkdir -p "${crashes}"
trap 'rm -rf "${work}"' EXIT
svc=${root}/services/webhook-ingest
# The include roots of the CMake build: libs/ ("common/result.h"), services/ ("webhook-ingest/...").
cxx=(clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined
     -I"${root}/libs" -I"${root}/services")
parser_sources=("${svc}/push_event.cpp" "${svc}/commit_list.cpp" "${root}/libs/json/reader.cpp"
                "${root}/libs/json/syntax.cpp" "${root}/libs/common/result.cpp")
for provider in github gitlab gitea bitbucket; do
  "${cxx[@]}" -o "${work}/${provider}" "${root}/tests/fuzz/${provider}_payload_fuzz.cpp" \
    "${svc}/${provider}_payload.cpp" "${parser_sources[@]}" -lPocoJSON -lPocoFoundation
done
"${cxx[@]}" -o "${work}/tar" "${root}/tests/fuzz/context_archive_fuzz.cpp" \
  "${root}/libs/archive/context_archive.cpp" "${root}/libs/common/result.cpp" -larchive
status=0
summary=
for target in github gitlab gitea bitbucket tar; do
  mkdir -p "${work}/corpus-${target}"
  echo "### ${target}: ${seconds} s"
  if ! "${work}/${target}" -max_total_time="${seconds}" -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="${crashes}/${target}-" \
      "${work}/corpus-${target}" "${root}/tests/fuzz/corpus/${target}" 2>"${work}/${target}.log"; then
    tail -40 "${work}/${target}.log"
    echo "crashing input kept in ${crashes}/"
    status=1
  else
    grep -E '^Done' "${work}/${target}.log" || true
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "${work}/${target}.log")
  peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "${work}/${target}.log")
  summary+="${summary:+; }${target} ${runs:-?} runs, peak ${peak:-?} MB"
done
echo "FUZZ| ${summary}"
exit ${status}
