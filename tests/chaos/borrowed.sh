#!/usr/bin/env bash
# A chaos case whose real fault already lives in an integration test (a killed scheduler binary,
# random event histories): runs that one test and reports it as a row of the chaos table.
#   borrowed.sh <gtest binary> <gtest filter> <case> <fault> <expected>
set -uo pipefail
binary=$1 filter=$2 name=$3 fault=$4 expected=$5
output=$("${binary}" --gtest_filter="${filter}" 2>&1)
status=$?
ran=$(grep -c '^\[       OK \]\|^\[  FAILED  \]' <<<"${output}")
failed=$(grep -c '^\[  FAILED  \] [A-Za-z]' <<<"${output}")
# Every test the filter names must run: a renamed test must not turn the row into a smaller one.
named=$(tr ':' '\n' <<<"${filter}" | grep -c .)
if ((status == 0 && ran == named)); then result=PASS; else result=FAIL; fi
((status == 0)) || tail -n 60 <<<"${output}"
((ran == named)) || echo "${filter}: ${ran} of the ${named} tests named ran" >&2
echo "CHAOS| ${name} | ${fault} | ${expected} | ${filter}: ${ran} run, ${failed} failed | ${result}"
[[ ${result} == PASS ]]
