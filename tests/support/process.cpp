#include "support/process.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
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

std::vector<int> processes_matching(const std::string& needle) {
  std::vector<int> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (auto& c : cmdline) c = c == '\0' ? ' ' : c;
    if (cmdline.find(needle) != std::string::npos && std::stoi(name) != getpid()) {
      pids.push_back(std::stoi(name));
    }
  }
  return pids;
}

}  // namespace kiln::testing
