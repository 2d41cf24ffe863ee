// Credentials as other CLIs keep them: `kiln login` checks a token against the API and stores it
// with the API's URL in the config file (mode 0600), `kiln logout` removes it, `kiln whoami`
// says who a token is; and `kiln completion bash`.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "cli/args.h"
#include "cli/cli_error.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace kiln::cli {
namespace {

namespace fs = std::filesystem;

std::string roles_of(const Poco::JSON::Object::Ptr& who) {
  std::string roles;
  if (auto array = who->getArray("roles")) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      roles +=
          (roles.empty() ? "" : ",") + array->getElement<std::string>(static_cast<unsigned>(i));
    }
  }
  return roles;
}

// A line from standard input, without echo when it is a terminal.
std::string read_secret_line(const std::string& prompt) {
  const bool tty = isatty(STDIN_FILENO);
  termios saved{};
  if (tty) {
    std::cerr << prompt << std::flush;
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// Sets (or, with an empty value, removes) `key = value` lines of the config file, keeping the
// other lines; the file and its directory are readable by the owner only.
void update_config(const std::string& path,
                   const std::vector<std::pair<std::string, std::string>>& entries) {
  std::vector<std::string> lines;
  {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  for (const auto& [key, value] : entries) {
    bool replaced = false;
    for (auto it = lines.begin(); it != lines.end();) {
      const auto eq = it->find('=');
      std::string name = eq == std::string::npos ? "" : it->substr(0, eq);
      name.erase(0, name.find_first_not_of(" \t"));
      name.erase(name.find_last_not_of(" \t") + 1);
      if (name != key) {
        ++it;
        continue;
      }
      if (value.empty() || replaced) {
        it = lines.erase(it);
        continue;
      }
      *it = key + " = " + value;
      replaced = true;
      ++it;
    }
    if (!replaced && !value.empty()) lines.push_back(key + " = " + value);
  }
  const fs::path file(path);
  if (file.has_parent_path()) {
    fs::create_directories(file.parent_path());
    chmod(file.parent_path().c_str(), 0700);
  }
  const std::string temporary = path + ".tmp";
  {
    // Created 0600 before a byte of the token is written.
    const mode_t old_mask = umask(077);
    std::ofstream out(temporary, std::ios::trunc);
    umask(old_mask);
    for (const auto& line : lines) out << line << "\n";
    if (!out) throw CliError(kExitUsage, "cannot write " + temporary);
  }
  chmod(temporary.c_str(), 0600);
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) throw CliError(kExitUsage, "cannot write " + path + ": " + ec.message());
}

const char* kBashCompletion = R"(# bash completion for kiln: source <(kiln completion bash)
_kiln() {
  local cur prev words cword
  _init_completion 2>/dev/null || { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; cword=$COMP_CWORD; words=("${COMP_WORDS[@]}"); }
  local commands="build status logs ls cancel retry stats project push-layout login logout whoami completion"
  local i command=""
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      --api|--query|--token|--config|--output) ((i++)) ;;
      -*) ;;
      *) command=${words[i]}; break ;;
    esac
  done
  if [[ -z $command ]]; then
    COMPREPLY=($(compgen -W "$commands --api --query --token --config --output --help" -- "$cur"))
    return
  fi
  case $command in
    build)
      case $prev in
        -f|--file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --progress) COMPREPLY=($(compgen -W "auto plain json" -- "$cur")); return ;;
      esac
      COMPREPLY=($(compgen -W "-t --tag -f --file --build-arg --target --platform --no-cache --progress --detach --project --ref --commit --priority --follow --help" -- "$cur") $(compgen -d -- "$cur")) ;;
    project) COMPREPLY=($(compgen -W "apply ls show rm" -- "$cur")) ;;
    completion) COMPREPLY=($(compgen -W "bash" -- "$cur")) ;;
    login) COMPREPLY=($(compgen -W "--token-stdin --query --help" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
  esac
}
complete -F _kiln kiln
)";

}  // namespace

int cmd_login(Context& ctx, const Argv& argv) {
  Args args("kiln login [URL] [--token-stdin]",
            "Checks a token against the command API at URL (default: the current one) and "
            "stores both in the config file, readable by you only. Asks for the token without "
            "echo, or reads it from standard input with --token-stdin.");
  args.flag("token-stdin", "read the token from standard input")
      .value("query", "URL", "the query API's URL to store as well");
  if (!args.parse(argv)) return kExitOk;
  Endpoints endpoints = ctx.api->endpoints();
  if (!args.positional().empty()) endpoints.command_url = args.positional().front();
  if (args.has("query")) endpoints.query_url = args.get("query");
  endpoints.token = args.has("token-stdin") ? read_secret_line("") : read_secret_line("Token: ");
  if (endpoints.token.empty()) throw CliError(kExitUsage, "no token given");
  ApiClient api(endpoints);
  auto who = api.command("GET", "/v1/whoami");
  std::vector<std::pair<std::string, std::string>> entries = {{"api-url", endpoints.command_url},
                                                              {"token", endpoints.token}};
  if (args.has("query")) entries.emplace_back("query-url", endpoints.query_url);
  update_config(ctx.config_path, entries);
  std::cout << "logged in to " << endpoints.command_url << " as " << field(who, "name")
            << " (tenant " << field(who, "tenant") << ", roles " << roles_of(who)
            << "); token stored in " << ctx.config_path << "\n";
  return kExitOk;
}

int cmd_logout(Context& ctx, const Argv& argv) {
  Args args("kiln logout", "Removes the stored token from the config file.");
  if (!args.parse(argv)) return kExitOk;
  update_config(ctx.config_path, {{"token", ""}});
  std::cout << "token removed from " << ctx.config_path << "\n";
  return kExitOk;
}

int cmd_whoami(Context& ctx, const Argv& argv) {
  Args args("kiln whoami", "Shows the name, tenant and roles of the token in use.");
  if (!args.parse(argv)) return kExitOk;
  auto who = ctx.api->command("GET", "/v1/whoami");
  if (ctx.json_output) {
    std::cout << to_json(who) << "\n";
    return kExitOk;
  }
  std::cout << "name:   " << field(who, "name") << "\ntenant: " << field(who, "tenant")
            << "\nroles:  " << roles_of(who) << "\n";
  return kExitOk;
}

int cmd_completion(Context&, const Argv& argv) {
  Args args("kiln completion bash",
            "Prints the bash completion script: source <(kiln completion bash)");
  if (!args.parse(argv)) return kExitOk;
  if (args.require_positional(0, "SHELL") != "bash") {
    throw CliError(kExitUsage, "only bash completion is available");
  }
  std::cout << kBashCompletion;
  return kExitOk;
}

}  // namespace kiln::cli
