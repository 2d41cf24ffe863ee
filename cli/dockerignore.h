// .dockerignore as Docker reads it (moby's patternmatcher), so a context kiln sends is the one
// `docker build` would send:
//   - one pattern a line; blank lines and lines starting with '#' are skipped; surrounding
//     blanks are trimmed;
//   - a pattern is relative to the context root (a leading '/' is dropped) and cleaned
//     ("a//b/./c" is "a/b/c");
//   - '*' matches any run of characters but '/', '?' one character but '/', "[a-z]" a class,
//     '\' escapes the next character; "**" matches any number of directories (none included);
//   - a pattern that matches a directory matches everything below it;
//   - '!' makes a pattern an exception; the last pattern that matches a path decides.
// Errors: a malformed pattern (an unclosed '[') throws CliError(kExitUsage) naming its line.
#pragma once

#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::cli {

class DockerIgnore {
 public:
  DockerIgnore() = default;
  // `text` is the file's content; `origin` names it in errors.
  static DockerIgnore parse(std::string_view text, const std::string& origin = ".dockerignore");

  // Whether `path` (relative to the context root, '/'-separated, no leading "./") is left out.
  bool excluded(const std::string& path) const;
  // Whether some exception could bring back a path below an excluded directory: when none can,
  // an excluded directory is skipped whole.
  bool has_exceptions() const { return has_exceptions_; }
  bool empty() const { return patterns_.empty(); }

 private:
  struct Pattern {
    std::string text;  // cleaned
    std::regex regex;
    bool exception = false;
  };
  std::vector<Pattern> patterns_;
  bool has_exceptions_ = false;
};

// "a//b/./c/" as Go's path.Clean gives it ("a/b/c"); "" and "." give ".".
std::string clean_path(std::string_view path);

}  // namespace kiln::cli
