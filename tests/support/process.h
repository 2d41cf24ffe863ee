// Shell commands and processes for tests and benchmarks: run a command, quote its words, fail
// loudly when it fails, and look for processes by command line.
#pragma once

#include <string>
#include <vector>

namespace kiln::testing {

// Runs a shell command, returns its exit code; output goes to `output` when given.
int run_command(const std::string& command, std::string* output = nullptr);

// `s` as one word for /bin/sh (single-quoted).
std::string sh_quote(const std::string& s);

// Runs a shell command and returns its output (stdout and stderr); throws std::runtime_error
// with the command and its output when it exits non-zero.
std::string must_run(const std::string& command);

// The ids of every process, except this one, whose command line contains `needle` (a /proc scan;
// the arguments are joined with spaces).
std::vector<int> processes_matching(const std::string& needle);

}  // namespace kiln::testing
