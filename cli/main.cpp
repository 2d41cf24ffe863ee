// kiln — the command-line client of kiln's command API (webhook-ingest) and query API
// (analytics). Global options come from flags, then the environment, then ~/.config/kiln/config.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>

#include "cli/api_client.h"
#include "cli/cli_error.h"
#include "cli/commands.h"
#include "cli/usage.h"
#include "common/strings.h"

namespace kiln::cli {
namespace {

std::map<std::string, std::string> read_config_file(const std::string& path, bool required) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  if (!in) {
    if (required) throw CliError(kExitUsage, "cannot read config file " + path);
    return out;
  }
  // Blanks off both ends, and the '\r' of a CRLF line off the end (a leading '\r' stays).
  const auto trim_line = [](std::string_view s) { return trim_right(trim_left(s), " \t\r"); };
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (const auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    const auto eq = line.find('=');
    if (trim_line(line).empty()) continue;
    if (eq == std::string::npos)
      throw CliError(kExitUsage, path + ":" + std::to_string(n) + ": expected key = value");
    const std::string key = trim_line(line.substr(0, eq));
    if (key != "api-url" && key != "query-url" && key != "token") {
      throw CliError(kExitUsage, path + ":" + std::to_string(n) + ": unknown key '" + key + "'");
    }
    out[key] = trim_line(line.substr(eq + 1));
  }
  return out;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

int run(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << usage();
      return kExitOk;
    }
    if (arg.rfind("--", 0) != 0) break;
    std::string name = arg.substr(2), value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    }
    if (name != "api" && name != "query" && name != "token" && name != "config" &&
        name != "output") {
      throw CliError(kExitUsage, "unknown global option --" + name + "\n\n" + usage());
    }
    flags[name] = value;
  }
  if (i >= argc) {
    std::cerr << usage();
    return kExitUsage;
  }
  const char* home = std::getenv("HOME");
  const std::string default_config = std::string(home ? home : "") + "/.config/kiln/config";
  const bool explicit_config = flags.count("config") || std::getenv("KILN_CLI_CONFIG");
  const std::string config_path =
      flags.count("config") ? flags["config"] : env_or("KILN_CLI_CONFIG", default_config);
  const std::string command = argv[i];
  // kiln login may create the file it names.
  const auto file = read_config_file(config_path, explicit_config && command != "login");
  auto pick = [&](const std::string& flag, const char* env, const std::string& key,
                  const std::string& fallback) {
    if (flags.count(flag)) return flags[flag];
    const std::string from_env = env_or(env, "");
    if (!from_env.empty()) return from_env;
    auto it = file.find(key);
    return it != file.end() ? it->second : fallback;
  };
  Endpoints endpoints;
  endpoints.command_url = pick("api", "KILN_API_URL", "api-url", "http://127.0.0.1:8080");
  endpoints.query_url = pick("query", "KILN_QUERY_URL", "query-url", "http://127.0.0.1:8081");
  endpoints.token = pick("token", "KILN_TOKEN", "token", "");
  if (flags.count("output") && flags["output"] != "json" && flags["output"] != "text") {
    throw CliError(kExitUsage, "--output must be json or text");
  }
  ApiClient api(endpoints);
  Context ctx;
  ctx.api = &api;
  ctx.json_output = flags.count("output") && flags["output"] == "json";
  ctx.config_path = config_path;

  const Argv rest(argv + i + 1, argv + argc);
  if (command == "build") return cmd_build(ctx, rest);
  if (command == "status") return cmd_status(ctx, rest);
  if (command == "logs") return cmd_logs(ctx, rest);
  if (command == "ls") return cmd_ls(ctx, rest);
  if (command == "cancel") return cmd_cancel(ctx, rest);
  if (command == "retry") return cmd_retry(ctx, rest);
  if (command == "stats") return cmd_stats(ctx, rest);
  if (command == "project") return cmd_project(ctx, rest);
  if (command == "push-layout") return cmd_push_layout(ctx, rest);
  if (command == "login") return cmd_login(ctx, rest);
  if (command == "logout") return cmd_logout(ctx, rest);
  if (command == "whoami") return cmd_whoami(ctx, rest);
  if (command == "completion") return cmd_completion(ctx, rest);
  throw CliError(kExitUsage, "unknown command '" + command + "' (see kiln --help)");
}

}  // namespace
}  // namespace kiln::cli

int main(int argc, char** argv) {
  try {
    return kiln::cli::run(argc, argv);
  } catch (const kiln::cli::CliError& e) {
    std::cerr << "kiln: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "kiln: " << e.what() << "\n";
    return kiln::cli::kExitUnavailable;
  }
}
