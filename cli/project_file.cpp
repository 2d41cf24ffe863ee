#include "cli/project_file.h"

#include <yaml-cpp/yaml.h>

#include <regex>

#include "cli/cli_error.h"
#include "common/log.h"

namespace kiln::cli {
namespace {

// Plain YAML scalars become JSON numbers or booleans when they look like one; quoted scalars
// stay strings.
std::string scalar_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() != "!") {
    static const std::regex kInteger("-?[0-9]+");
    if (std::regex_match(text, kInteger)) return text;
    if (text == "true" || text == "false") return text;
    if (text == "null" || text == "~") return "null";
  }
  return "\"" + log::json_escape(text) + "\"";
}

std::string to_json(const YAML::Node& node, const std::string& path, ProjectFile& out) {
  if (!path.empty()) out.lines[path] = node.Mark().line + 1;
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      std::string json = "{";
      bool first = true;
      for (const auto& item : node) {
        const std::string key = item.first.as<std::string>();
        const std::string child = path.empty() ? key : path + "." + key;
        json += (first ? "" : ",") + std::string("\"") + log::json_escape(key) +
                "\":" + to_json(item.second, child, out);
        out.lines[child] = item.first.Mark().line + 1;
        first = false;
      }
      return json + "}";
    }
    case YAML::NodeType::Sequence: {
      std::string json = "[";
      for (size_t i = 0; i < node.size(); ++i) {
        json += (i ? "," : "") + to_json(node[i], path + "[" + std::to_string(i) + "]", out);
      }
      return json + "]";
    }
    case YAML::NodeType::Scalar:
      return scalar_json(node);
    default:
      return "null";
  }
}

}  // namespace

ProjectFile read_project_file(const std::string& path) {
  ProjectFile out;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw CliError(kExitUsage, "cannot read " + path);
  } catch (const YAML::ParserException& e) {
    throw CliError(kExitUsage, path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!root.IsMap()) throw CliError(kExitUsage, path + ": a project file must be a mapping");
  out.json = to_json(root, "", out);
  return out;
}

std::string locate_error(const ProjectFile& file, const std::string& path,
                         const std::string& message) {
  const auto colon = message.find(':');
  if (colon != std::string::npos) {
    auto it = file.lines.find(message.substr(0, colon));
    if (it != file.lines.end()) return path + ":" + std::to_string(it->second) + ": " + message;
  }
  return path + ": " + message;
}

}  // namespace kiln::cli
