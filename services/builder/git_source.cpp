#include "builder/git_source.h"

#include <filesystem>

#include "builder/process.h"

namespace kiln::builder {
namespace {

namespace fs = std::filesystem;

struct GitRun {
  ProcessResult result;
  OutputTail tail;
  std::string stdout_text;
};

Result<GitRun> git(const std::vector<std::string>& args, const std::string& dir,
                   const GitAuth& auth, const LineSink& sink, const RunControl& control) {
  GitRun run;
  ProcessOptions options;
  options.argv = {"git"};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.cwd = dir;
  options.deadline = control.deadline;
  options.cancel = control.cancel;
  // Never wait for a password prompt; ssh uses the configured key and no agent prompts.
  options.extra_env["GIT_TERMINAL_PROMPT"] = "0";
  options.extra_env["GIT_ASKPASS"] = "true";
  std::string ssh = "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new";
  if (!auth.ssh_key.empty()) ssh += " -o IdentitiesOnly=yes -i '" + auth.ssh_key + "'";
  options.extra_env["GIT_SSH_COMMAND"] = ssh;
  options.on_line = [&run, &sink](OutputStream stream, std::string_view line) {
    run.tail.add(line);
    if (stream == OutputStream::kStdout) {
      run.stdout_text.append(line);
      run.stdout_text.push_back('\n');
    }
    if (sink) sink(stream, line);
  };
  auto result = run_process(options);
  if (!result.ok()) return result.error();
  run.result = *result;
  return run;
}

std::optional<Failure> as_failure(const GitRun& run, const std::string& what) {
  Failure failure;
  failure.stage = events::v1::FETCH;
  failure.exit_code = run.result.exit_code;
  if (run.result.cancelled) {
    failure.cancelled = true;
    failure.reason = "cancelled while fetching the source";
  } else if (run.result.timed_out) {
    failure.stage = events::v1::TIMEOUT;
    failure.reason = "timed out while fetching the source";
  } else if (run.result.exit_code != 0) {
    failure.reason = run.tail.first_error(what + " failed");
  } else {
    return std::nullopt;
  }
  return failure;
}

Failure internal(const Error& error) {
  return Failure{events::v1::FETCH, one_line(error.describe()), 1, false};
}

}  // namespace

std::string authenticated_url(const std::string& repo_url, const GitAuth& auth) {
  for (const std::string scheme : {"https://", "http://"}) {
    if (repo_url.rfind(scheme, 0) != 0) continue;
    const std::string rest = repo_url.substr(scheme.size());
    if (rest.find('@') != std::string::npos && rest.find('@') < rest.find('/')) {
      return repo_url;  // the URL carries its own credentials
    }
    if (!auth.repository_credential.empty()) {
      return scheme + auth.repository_credential + "@" + rest;
    }
    const std::string host = rest.substr(0, rest.find('/'));
    const auto found = auth.credentials.find(host);
    if (found == auth.credentials.end()) return repo_url;
    return scheme + found->second + "@" + rest;
  }
  return repo_url;
}

std::optional<Failure> fetch_git(const events::v1::GitSource& source, const std::string& dir,
                                 const GitAuth& auth, const LineSink& sink,
                                 const RunControl& control, std::string& commit) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Failure{events::v1::FETCH, "cannot create " + dir + ": " + ec.message(), 1, false};
  }
  const std::string what = !source.commit().empty() ? source.commit() : source.ref();
  if (what.empty()) return Failure{events::v1::FETCH, "the Git source names no ref or commit", 1};
  if (what.front() == '-') return Failure{events::v1::FETCH, "invalid ref '" + what + "'", 1};
  if (source.repo_url().empty() || source.repo_url().front() == '-') {
    return Failure{events::v1::FETCH, "invalid repository URL '" + source.repo_url() + "'", 1};
  }

  const std::vector<std::vector<std::string>> steps = {
      {"init", "--quiet", "."},
      // The checkout is thrown away after the build: keep the fetched pack as it came instead
      // of unpacking it into loose objects, and (for file:// remotes, where git packs locally)
      // skip the delta search. About 0.1 s of a 2 MB context's 0.45 s fetch.
      {"-c", "fetch.unpackLimit=1", "-c", "pack.window=0", "fetch", "--depth", "1", "--no-tags",
       "--", authenticated_url(source.repo_url(), auth), what},
      {"checkout", "--quiet", "--detach", "FETCH_HEAD"},
  };
  for (const auto& args : steps) {
    auto run = git(args, dir, auth, sink, control);
    if (!run.ok()) return internal(run.error());
    const std::string& command = args[0] == "-c" ? args[4] : args[0];  // after the -c pairs
    if (auto failure = as_failure(*run, "git " + command)) return failure;
  }
  auto head = git({"rev-parse", "HEAD"}, dir, auth, nullptr, control);
  if (!head.ok()) return internal(head.error());
  if (auto failure = as_failure(*head, "git rev-parse")) return failure;
  commit = head->stdout_text.substr(0, head->stdout_text.find('\n'));
  return std::nullopt;
}

}  // namespace kiln::builder
