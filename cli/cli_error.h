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
  CliError(int exit_code, const std::string& message, int http_status = 0)
      : std::runtime_error(message), exit_code_(exit_code), http_status_(http_status) {}
  int exit_code() const { return exit_code_; }
  int http_status() const { return http_status_; }  // 0 when no HTTP answer was involved

 private:
  int exit_code_;
  int http_status_;
};

}  // namespace kiln::cli
