#include "support/process.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

// run_command() lives in servers.cpp, beside the child-process set-up it shares with the servers.

namespace kiln::testing {

std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string must_run(const std::string& command) {
  std::string output;
  if (run_command(command, &output) != 0) {
    throw std::runtime_error(command + " failed: " + output);
  }
  return output;
}

namespace {

// A process's command line, or "" once it has exited: one that exits between the listing of
// /proc and this read fails with ESRCH, which std::ifstream turns into an exception.
std::string read_cmdline(const std::filesystem::path& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<std::size_t>(n));
  close(fd);
  return out;
}

}  // namespace

std::vector<int> processes_matching(const std::string& needle) {
  std::vector<int> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_cmdline(entry.path() / "cmdline");
    for (auto& c : cmdline) c = c == '\0' ? ' ' : c;
    if (cmdline.find(needle) != std::string::npos && std::stoi(name) != getpid()) {
      pids.push_back(std::stoi(name));
    }
  }
  return pids;
}

}  // namespace kiln::testing
