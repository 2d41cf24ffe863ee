#include "builder/dockerfile_scan.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "common/strings.h"

namespace kiln::builder {
namespace {

// Logical instructions: comments dropped, backslash continuations joined.
std::vector<std::string> instructions(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  std::string line;
  std::string current;
  while (std::getline(in, line)) {
    const std::string t = trim(line, kWhitespace);
    if (t.empty() || t.front() == '#') continue;
    if (t.back() == '\\') {
      current += t.substr(0, t.size() - 1) + " ";
      continue;
    }
    current += t;
    out.push_back(current);
    current.clear();
  }
  if (!trim(current, kWhitespace).empty()) out.push_back(trim(current, kWhitespace));
  return out;
}

// Expands $NAME and ${NAME} (and ${NAME:-default}) from `vars`.
std::string expand(std::string_view s, const std::map<std::string, std::string>& vars) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '$' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    std::string name;
    std::string fallback;
    if (s[i + 1] == '{') {
      const auto close = s.find('}', i);
      if (close == std::string_view::npos) {
        out += s.substr(i);
        break;
      }
      name = std::string(s.substr(i + 2, close - i - 2));
      if (const auto dash = name.find(":-"); dash != std::string::npos) {
        fallback = name.substr(dash + 2);
        name.resize(dash);
      }
      i = close;
    } else {
      std::size_t j = i + 1;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      name = std::string(s.substr(i + 1, j - i - 1));
      i = j - 1;
    }
    const auto it = vars.find(name);
    out += (it != vars.end() && !it->second.empty()) ? it->second : fallback;
  }
  return out;
}

}  // namespace

DockerfileScan scan_dockerfile(std::string_view text,
                               const std::map<std::string, std::string>& build_args,
                               std::string_view target) {
  DockerfileScan scan;
  std::map<std::string, std::string> global_args;
  std::set<std::string> stage_names;
  bool seen_from = false;
  bool past_target = false;
  for (const std::string& instruction : instructions(text)) {
    std::istringstream words(instruction);
    std::string keyword;
    words >> keyword;
    keyword = to_lower(keyword);
    if (keyword == "arg" && !seen_from) {
      std::string spec;
      words >> spec;
      const auto eq = spec.find('=');
      const std::string name = spec.substr(0, eq);
      const auto given = build_args.find(name);
      global_args[name] = given != build_args.end() ? given->second
                          : eq == std::string::npos ? ""
                                                    : spec.substr(eq + 1);
      continue;
    }
    if (keyword == "from") {
      if (past_target) break;
      seen_from = true;
      std::string word;
      std::vector<std::string> rest;
      while (words >> word) {
        if (word.rfind("--", 0) != 0) rest.push_back(word);
      }
      if (rest.empty()) continue;
      const std::string image = expand(rest[0], global_args);
      if (image != "scratch" && !stage_names.count(to_lower(image)) &&
          std::find(scan.base_images.begin(), scan.base_images.end(), image) ==
              scan.base_images.end()) {
        scan.base_images.push_back(image);
      }
      if (rest.size() >= 3 && to_lower(rest[1]) == "as") {
        stage_names.insert(to_lower(rest[2]));
        if (!target.empty() && to_lower(rest[2]) == to_lower(target)) past_target = true;
      }
      ++scan.instructions;
      // The target's own instructions still count; the next FROM stops the scan.
      continue;
    }
    if (seen_from) ++scan.instructions;
  }
  return scan;
}

}  // namespace kiln::builder
