#include "cli/dockerignore.h"

#include <sstream>

#include "cli/cli_error.h"

namespace kiln::cli {
namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

// The regular expression moby's patternmatcher compiles a pattern into.
std::string to_regex(const std::string& pattern) {
  std::string out = "^";
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '*') {
      if (i + 1 < pattern.size() && pattern[i + 1] == '*') {
        ++i;
        if (i + 1 < pattern.size() && pattern[i + 1] == '/') ++i;  // "**/" is "**"
        out += i + 1 == pattern.size() ? ".*" : "(.*/)?";
      } else {
        out += "[^/]*";
      }
    } else if (c == '?') {
      out += "[^/]";
    } else if (c == '\\') {
      out += '\\';
      if (i + 1 < pattern.size())
        out += pattern[++i];
      else
        out += '\\';
    } else if (std::string_view(".+()|{}$^").find(c) != std::string_view::npos) {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out + "$";
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    parts.emplace_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

}  // namespace

std::string clean_path(std::string_view path) {
  const bool rooted = !path.empty() && path.front() == '/';
  std::vector<std::string> kept;
  for (auto& part : split_path(path)) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!kept.empty() && kept.back() != "..") {
        kept.pop_back();
        continue;
      }
      if (rooted) continue;  // "/.." is "/"
    }
    kept.push_back(part);
  }
  std::string out = rooted ? "/" : "";
  for (std::size_t i = 0; i < kept.size(); ++i) out += (i ? "/" : "") + kept[i];
  if (out.empty()) return ".";
  return out;
}

DockerIgnore DockerIgnore::parse(std::string_view text, const std::string& origin) {
  DockerIgnore ignore;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.front() == '#') continue;
    std::string_view pattern = trim(line);
    if (pattern.empty()) continue;
    Pattern compiled;
    if (pattern.front() == '!') {
      compiled.exception = true;
      pattern = trim(pattern.substr(1));
    }
    std::string cleaned = pattern.empty() ? std::string() : clean_path(pattern);
    if (cleaned.size() > 1 && cleaned.front() == '/') cleaned.erase(0, 1);
    compiled.text = cleaned;
    try {
      compiled.regex = std::regex(to_regex(cleaned), std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      throw CliError(kExitUsage, origin + ":" + std::to_string(number) + ": bad pattern '" +
                                     std::string(pattern) + "'");
    }
    ignore.has_exceptions_ = ignore.has_exceptions_ || compiled.exception;
    ignore.patterns_.push_back(std::move(compiled));
  }
  return ignore;
}

bool DockerIgnore::excluded(const std::string& path) const {
  const auto parents = split_path(path);
  bool matched = false;
  for (const auto& pattern : patterns_) {
    // Only a pattern that could change the answer is evaluated.
    if (pattern.exception != matched) continue;
    bool match = std::regex_match(path, pattern.regex);
    // A pattern that matches a parent directory matches everything below it.
    std::string prefix;
    for (std::size_t i = 0; !match && i + 1 < parents.size(); ++i) {
      prefix += (i ? "/" : "") + parents[i];
      match = std::regex_match(prefix, pattern.regex);
    }
    if (match) matched = !pattern.exception;
  }
  return matched;
}

}  // namespace kiln::cli
