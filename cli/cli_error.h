// The CLI's error convention: commands throw CliError with the exit code the user sees; main()
// prints "kiln: <message>" on stderr and exits with it.
#pragma once

#include <stdexcept>
#include <string>

namespace kiln::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitBuildFailed = 1,  // the build failed or was cancelled
  kExitUsage = 2,        // bad command line or input file
  kExitApiError = 3,     // the API refused the request (4xx)
  kExitUnavailable = 4,  // the API could not be reached or failed (5xx)
};

class CliError : public std::runtime_error {
 public:
  CliError(int exit_code, const std::string& message)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

}  // namespace kiln::cli
