// The chaos suite's report: every case names the real fault it makes and what kiln must do, and
// records what it observed. A listener prints one line per case,
//   CHAOS| case | fault | expected | observed | PASS/FAIL
// and, at the end of the program, `CHAOS| N passed, M failed`. tests/chaos/run.sh collects the
// lines of every chaos executable into one table.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace kiln::chaos {

// Declares the current case's fault and expectation; lives for the test body.
class Case {
 public:
  Case(std::string fault, std::string expected);
  ~Case();
  Case(const Case&) = delete;
  Case& operator=(const Case&) = delete;

  // Adds to what was observed (joined with "; ").
  void observed(const std::string& what);
};

// Registers the listener that prints the table lines; call once from main().
void install_reporter();

}  // namespace kiln::chaos
