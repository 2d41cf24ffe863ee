// Builds: start, inspect, list, cancel, retry, follow logs, statistics.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/URI.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "cli/args.h"
#include "cli/cli_error.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/secret_option.h"

namespace kiln::cli {
namespace {

std::string encode(const std::string& value) {
  std::string out;
  Poco::URI::encode(value, "&=?#+/ ", out);
  return out;
}

std::string query_string(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    out += (out.empty() ? "?" : "&") + k + "=" + encode(v);
  }
  return out;
}

}  // namespace

int cmd_build(Context& ctx, const Argv& argv) {
  if (is_local_build(argv)) return cmd_build_local(ctx, argv);
  Args args("kiln build PROJECT [options]   (or kiln build PATH: see kiln build . --help)",
            "Starts a build of PROJECT at a branch, tag or commit (default: the project's default "
            "branch). With --follow, shows it live and exits 0 only if it succeeds. An argument "
            "that is `-`, `.`, contains '/' or is a directory here is a local build instead; "
            "--project NAME names a project that is also a directory here.");
  args.value("project", "NAME", "the project to build (instead of PROJECT)")
      .value("ref", "REF", "branch or tag to build (refs/heads/x, refs/tags/v1, or a name)")
      .value("commit", "SHA", "exact commit to build")
      .value("build-arg", "K=V", "build argument (repeatable)")
      .value("target", "STAGE", "target stage of a multi-stage Dockerfile")
      .value("tag", "TAG", "image tag instead of the project's tag policy (repeatable)", "t")
      .value("priority", "N", "higher runs first (default 0)")
      .value("secret", "id=NAME,src=FILE",
             "a secret for RUN --mount=type=secret,id=NAME (or env=VARIABLE), for this build "
             "only (repeatable)")
      .flag("no-cache", "do not reuse cached layers")
      .flag("follow", "follow the build live until it ends", "f");
  if (!args.parse(argv)) return kExitOk;
  Poco::JSON::Object request;
  request.set("project",
              args.has("project") ? args.get("project") : args.require_positional(0, "PROJECT"));
  if (args.has("ref") && args.has("commit")) {
    throw CliError(kExitUsage, "give --ref or --commit, not both");
  }
  if (args.has("ref")) request.set("ref", args.get("ref"));
  if (args.has("commit")) request.set("commit", args.get("commit"));
  if (args.has("target")) request.set("target", args.get("target"));
  if (args.has("no-cache")) request.set("no_cache", true);
  if (args.has("priority")) {
    try {
      request.set("priority", std::stoi(args.get("priority")));
    } catch (const std::exception&) {
      throw CliError(kExitUsage, "--priority must be an integer");
    }
  }
  const auto build_args = key_values(args.all("build-arg"), "--build-arg");
  if (build_args->size() > 0) request.set("build_args", build_args);
  const auto secrets = secrets_from_options(args.all("secret"));
  if (secrets->size() > 0) request.set("secrets", secrets);
  if (!args.all("tag").empty()) {
    Poco::JSON::Array::Ptr tags = new Poco::JSON::Array();
    for (const auto& t : args.all("tag")) tags->add(t);
    request.set("tags", tags);
  }
  std::ostringstream body;
  request.stringify(body);
  auto answer = ctx.api->command("POST", "/v1/builds", body.str());
  const std::string build_id = field(answer, "build_id");
  if (!args.has("follow")) {
    if (ctx.json_output) {
      std::cout << to_json(answer) << "\n";
    } else {
      std::cout << build_id << "\n";
    }
    return kExitOk;
  }
  if (!ctx.json_output) std::cerr << "build " << build_id << " requested\n";
  return follow_build(ctx, build_id);
}

int cmd_status(Context& ctx, const Argv& argv) {
  Args args("kiln status BUILD", "Shows a build's state, steps and result.");
  if (!args.parse(argv)) return kExitOk;
  auto build = ctx.api->query("/v1/builds/" + args.require_positional(0, "BUILD"));
  if (ctx.json_output) {
    std::cout << to_json(build) << "\n";
    return kExitOk;
  }
  std::cout << "build:    " << field(build, "build_id") << " (#" << field(build, "number") << " of "
            << field(build, "project") << ")\n"
            << "status:   " << field(build, "status") << " " << field(build, "progress") << "%\n"
            << "trigger:  " << field(build, "trigger") << "\n"
            << "ref:      " << field(build, "ref") << " " << field(build, "commit") << "\n";
  if (!field(build, "digest").empty()) {
    std::cout << "image:    " << field(build, "image_url") << "\n"
              << "digest:   " << field(build, "digest") << "\n";
  }
  if (!field(build, "failure_stage").empty()) {
    std::cout << "failed:   " << field(build, "failure_stage") << ": "
              << field(build, "failure_reason") << "\n";
  }
  if (auto steps = build->getArray("steps"); steps && steps->size() > 0) {
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < steps->size(); ++i) {
      auto s = steps->getObject(static_cast<unsigned>(i));
      rows.push_back({field(s, "step"), field(s, "cached") == "true" ? "cached" : "",
                      field(s, "duration_ms") + " ms", field(s, "instruction")});
    }
    std::cout << "\n";
    print_table({"STEP", "CACHE", "TIME", "INSTRUCTION"}, rows);
  }
  return kExitOk;
}

int cmd_logs(Context& ctx, const Argv& argv) {
  Args args("kiln logs BUILD [-f]",
            "Prints a build's log; with -f, follows it until the build ends.");
  args.flag("follow", "keep printing new lines until the build ends", "f")
      .value("from", "LINE", "start at this line number (default 1)");
  if (!args.parse(argv)) return kExitOk;
  const std::string id = args.require_positional(0, "BUILD");
  if (args.has("follow")) return follow_build(ctx, id);
  auto page = ctx.api->query("/v1/builds/" + id + "/logs?from=" + args.get("from", "1"));
  if (ctx.json_output) {
    std::cout << to_json(page) << "\n";
    return kExitOk;
  }
  if (auto lines = page->getArray("lines")) {
    for (size_t i = 0; i < lines->size(); ++i) {
      std::cout << field(lines->getObject(static_cast<unsigned>(i)), "text") << "\n";
    }
  }
  return kExitOk;
}

int cmd_ls(Context& ctx, const Argv& argv) {
  Args args("kiln ls [options]", "Lists builds, newest first.");
  args.value("project", "P", "only this project")
      .value("status", "S", "only this status (queued, building, succeeded, failed, ...)")
      .value("trigger", "T", "only this trigger (webhook, schedule, manual, retry)")
      .value("limit", "N", "at most N builds (default 20)");
  if (!args.parse(argv)) return kExitOk;
  auto page = ctx.api->query("/v1/builds" + query_string({{"project", args.get("project")},
                                                          {"status", args.get("status")},
                                                          {"trigger", args.get("trigger")},
                                                          {"limit", args.get("limit", "20")}}));
  if (ctx.json_output) {
    std::cout << to_json(page) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  if (auto builds = page->getArray("builds")) {
    for (size_t i = 0; i < builds->size(); ++i) {
      auto b = builds->getObject(static_cast<unsigned>(i));
      std::string commit = field(b, "commit");
      if (commit.size() > 7) commit.resize(7);
      rows.push_back({field(b, "build_id"), field(b, "project") + "#" + field(b, "number"),
                      field(b, "status"), field(b, "trigger"), field(b, "branch"), commit,
                      field(b, "requested_at")});
    }
  }
  print_table({"BUILD", "PROJECT", "STATUS", "TRIGGER", "BRANCH", "COMMIT", "REQUESTED"}, rows);
  return kExitOk;
}

int cmd_cancel(Context& ctx, const Argv& argv) {
  Args args("kiln cancel BUILD", "Asks kiln to cancel a queued or running build.");
  if (!args.parse(argv)) return kExitOk;
  auto answer = ctx.api->command("DELETE", "/v1/builds/" + args.require_positional(0, "BUILD"));
  std::cout << (ctx.json_output ? to_json(answer) : "cancel requested") << "\n";
  return kExitOk;
}

int cmd_retry(Context& ctx, const Argv& argv) {
  Args args("kiln retry BUILD [-f]", "Starts a new build from the same request as BUILD.");
  args.flag("follow", "follow the new build live", "f");
  if (!args.parse(argv)) return kExitOk;
  auto answer = ctx.api->command(
      "POST", "/v1/builds/" + args.require_positional(0, "BUILD") + "/retry", "{}");
  const std::string id = field(answer, "build_id");
  if (args.has("follow")) return follow_build(ctx, id);
  std::cout << (ctx.json_output ? to_json(answer) : id) << "\n";
  return kExitOk;
}

int cmd_stats(Context& ctx, const Argv& argv) {
  Args args("kiln stats [--project P] [--days N]",
            "Summarises builds over the last days: counts, success rate, durations, cache hits.");
  args.value("project", "P", "only this project").value("days", "N", "window in days (default 7)");
  if (!args.parse(argv)) return kExitOk;
  auto summary =
      ctx.api->query("/v1/analytics/summary" + query_string({{"project", args.get("project")},
                                                             {"days", args.get("days", "7")}}));
  if (ctx.json_output) {
    std::cout << to_json(summary) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& name : summary->getNames()) {
    auto value = summary->get(name);
    if (value.isString() || value.isNumeric() || value.isBoolean()) {
      rows.push_back({name, value.convert<std::string>()});
    }
  }
  print_table({"METRIC", "VALUE"}, rows);
  return kExitOk;
}

}  // namespace kiln::cli
