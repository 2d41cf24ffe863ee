#include "support/git_repo.h"

#include <filesystem>
#include <fstream>

#include "support/process.h"

namespace kiln::testing {

namespace fs = std::filesystem;

void write_files(const std::string& dir, const std::map<std::string, std::string>& files) {
  fs::create_directories(dir);
  for (const auto& [name, content] : files) {
    fs::create_directories(fs::path(dir + "/" + name).parent_path());
    std::ofstream(dir + "/" + name, std::ios::binary) << content;
  }
}

std::string git(const std::string& dir, const std::string& args) {
  std::string out = must_run("git -C " + sh_quote(dir) + " " + args);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

void git_init(const std::string& dir) {
  fs::create_directories(dir);
  git(dir, "init -q -b main");
  git(dir, "config user.email test@kiln.local");
  git(dir, "config user.name kiln-test");
}

std::string git_commit_all(const std::string& dir, const std::string& message) {
  git(dir, "add -A");
  git(dir, "commit -q -m " + sh_quote(message));
  return git(dir, "rev-parse HEAD");
}

GitRepo make_git_repo(const std::string& dir, const std::map<std::string, std::string>& files,
                      const std::string& message) {
  git_init(dir);
  write_files(dir, files);
  const std::string commit = git_commit_all(dir, message);
  return {dir, "file://" + dir, commit};
}

}  // namespace kiln::testing
