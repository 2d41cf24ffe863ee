// Local Git repositories for tests and benchmarks that build from Git: the Git host is a
// directory, reached as file://<dir>. Every function throws std::runtime_error (with git's
// output) when a command fails.
#pragma once

#include <map>
#include <string>

namespace kiln::testing {

// Writes `files` (path relative to `dir` -> content) under `dir`, creating directories as needed.
void write_files(const std::string& dir, const std::map<std::string, std::string>& files);

// Runs `git -C <dir> <args>` (`args` are shell words, quoted by the caller); returns git's output
// without the trailing newline.
std::string git(const std::string& dir, const std::string& args);

// Creates `dir` (if needed) and an empty repository in it on branch main, with a committer
// identity of its own so that commits work on any machine.
void git_init(const std::string& dir);

// Stages everything in the repository at `dir` and commits it; returns the commit's hash.
std::string git_commit_all(const std::string& dir, const std::string& message);

struct GitRepo {
  std::string dir;
  std::string url;     // file://<dir>
  std::string commit;  // the commit's hash, 40 hex digits
};

// A new repository in `dir` holding `files`, committed on branch main.
GitRepo make_git_repo(const std::string& dir, const std::map<std::string, std::string>& files,
                      const std::string& message = "initial");

}  // namespace kiln::testing
