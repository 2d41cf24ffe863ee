// Reads a project file (YAML or JSON — JSON is YAML) into the JSON the API takes, remembering the
// line of every field so that the server's "schedules[0].cron: ..." errors can name the line.
#pragma once

#include <map>
#include <string>

namespace kiln::cli {

struct ProjectFile {
  std::string json;
  std::map<std::string, int> lines;  // field path ("schedules[0].cron") -> 1-based line
};

// Throws CliError(kExitUsage) with file:line for syntax errors.
ProjectFile read_project_file(const std::string& path);

// "schedules[0].cron: bad" -> "FILE:12: schedules[0].cron: bad" when the field is known.
std::string locate_error(const ProjectFile& file, const std::string& path,
                         const std::string& message);

}  // namespace kiln::cli
