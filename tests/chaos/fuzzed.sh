#!/usr/bin/env bash
# Chaos case 15: webhook-ingest's untrusted-input parsers (GitHub, GitLab, Gitea, Bitbucket
# payloads and the upload tar checker) under libFuzzer with ASan/UBSan, KILN_FUZZ_SECONDS (20) per
# target, as one row of the chaos table. libFuzzer itself fails a target that crashes or passes
# -rss_limit_mb.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${KILN_FUZZ_SECONDS:-20}
output=$(bash "${root}/tests/fuzz/run.sh" "${seconds}" 2>&1)
status=$?
summary=$(sed -n 's/^FUZZ| //p' <<<"${output}")
if ((status == 0)) && [[ -n ${summary} && ${summary} != *'?'* ]]; then result=PASS; else
  result=FAIL
  tail -n 80 <<<"${output}"
fi
echo "CHAOS| ParsersFuzzed | libFuzzer on the GitHub, GitLab, Gitea and Bitbucket payload parsers and the upload tar checker, ${seconds} s each, ASan/UBSan | no crash, no sanitizer report, each under 2 GiB (-rss_limit_mb) | ${summary:-no summary} | ${result}"
[[ ${result} == PASS ]]
