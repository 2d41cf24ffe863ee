// The `kiln` subcommands. Each takes its own arguments (after the subcommand name) and returns
// the process exit code, or throws CliError.
#pragma once

#include <string>
#include <vector>

#include "cli/api_client.h"

namespace kiln::cli {

struct Context {
  ApiClient* api = nullptr;
  bool json_output = false;  // --output json: machine-readable answers on stdout
  bool plain = false;        // --progress plain: lines only, no terminal escapes
  std::string config_path;   // where kiln login stores the URL and token
};

using Argv = std::vector<std::string>;

int cmd_build(Context& ctx, const Argv& argv);
// `kiln build PATH`: whether the arguments name a local directory or `-` rather than a project
// (a token that is `-`, `.`, contains '/', or is a directory here, and no --project).
bool is_local_build(const Argv& argv);
int cmd_build_local(Context& ctx, const Argv& argv);
int cmd_status(Context& ctx, const Argv& argv);
int cmd_logs(Context& ctx, const Argv& argv);
int cmd_ls(Context& ctx, const Argv& argv);
int cmd_cancel(Context& ctx, const Argv& argv);
int cmd_retry(Context& ctx, const Argv& argv);
int cmd_stats(Context& ctx, const Argv& argv);
int cmd_project(Context& ctx, const Argv& argv);
int cmd_push_layout(Context& ctx, const Argv& argv);
int cmd_login(Context& ctx, const Argv& argv);
int cmd_logout(Context& ctx, const Argv& argv);
int cmd_whoami(Context& ctx, const Argv& argv);
int cmd_completion(Context& ctx, const Argv& argv);

// Follows a build live until it ends; returns kExitOk on success, kExitBuildFailed otherwise.
int follow_build(Context& ctx, const std::string& build_id);

}  // namespace kiln::cli
