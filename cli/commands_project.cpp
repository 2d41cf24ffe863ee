// `kiln project apply|ls|show|rm`: project configuration through the command API.
#include <Poco/JSON/Array.h>

#include <iostream>

#include "cli/args.h"
#include "cli/cli_error.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/project_file.h"

namespace kiln::cli {
namespace {

int apply(Context& ctx, const Argv& argv) {
  Args args("kiln project apply FILE",
            "Creates or updates the project described by FILE (YAML or JSON). Errors name the "
            "field and its line.");
  if (!args.parse(argv)) return kExitOk;
  const std::string path = args.require_positional(0, "FILE");
  const ProjectFile file = read_project_file(path);
  auto object = parse_object(file.json, "project file");
  const std::string name = field(object, "name");
  if (name.empty()) throw CliError(kExitUsage, path + ": name: is required");
  try {
    auto answer = ctx.api->command("PUT", "/v1/projects/" + name, file.json);
    std::cout << (ctx.json_output ? to_json(answer) : "project " + name + " applied") << "\n";
  } catch (const CliError& e) {
    if (e.exit_code() != kExitApiError) throw;
    // The server's message starts with the field path; point at its line in the file.
    std::string message = e.what();
    const auto paren = message.rfind(" (");
    if (paren != std::string::npos) message = message.substr(0, paren);
    throw CliError(kExitApiError, locate_error(file, path, message));
  }
  return kExitOk;
}

int list(Context& ctx, const Argv& argv) {
  Args args("kiln project ls", "Lists projects.");
  if (!args.parse(argv)) return kExitOk;
  auto answer = ctx.api->command("GET", "/v1/projects");
  if (ctx.json_output) {
    std::cout << to_json(answer) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  if (auto projects = answer->getArray("projects")) {
    for (size_t i = 0; i < projects->size(); ++i) {
      auto p = projects->getObject(static_cast<unsigned>(i));
      rows.push_back({field(p, "name"), field(p, "repository_url"),
                      field(p, "registry") + "/" + field(p, "image_repository")});
    }
  }
  print_table({"NAME", "REPOSITORY", "IMAGE"}, rows);
  return kExitOk;
}

int show(Context& ctx, const Argv& argv) {
  Args args("kiln project show NAME", "Prints a project's configuration as JSON.");
  if (!args.parse(argv)) return kExitOk;
  auto answer = ctx.api->command("GET", "/v1/projects/" + args.require_positional(0, "NAME"));
  std::cout << to_json(answer) << "\n";
  return kExitOk;
}

int remove(Context& ctx, const Argv& argv) {
  Args args("kiln project rm NAME", "Deletes a project (its build history stays).");
  if (!args.parse(argv)) return kExitOk;
  const std::string name = args.require_positional(0, "NAME");
  ctx.api->command("DELETE", "/v1/projects/" + name);
  if (!ctx.json_output) std::cout << "project " << name << " removed\n";
  return kExitOk;
}

}  // namespace

int cmd_project(Context& ctx, const Argv& argv) {
  const std::string usage = "Usage: kiln project apply FILE | ls | show NAME | rm NAME\n";
  if (argv.empty() || argv[0] == "--help" || argv[0] == "-h") {
    std::cout << usage;
    return argv.empty() ? kExitUsage : kExitOk;
  }
  const Argv rest(argv.begin() + 1, argv.end());
  if (argv[0] == "apply") return apply(ctx, rest);
  if (argv[0] == "ls") return list(ctx, rest);
  if (argv[0] == "show") return show(ctx, rest);
  if (argv[0] == "rm") return remove(ctx, rest);
  throw CliError(kExitUsage, "unknown project command '" + argv[0] + "'\n" + usage);
}

}  // namespace kiln::cli
