// Project configuration: what webhook-ingest, the scheduler and the CLI agree a project is.
// Stored as JSON in the JetStream key-value bucket kiln_projects, one key per project name.
//
// Error convention: kiln::Result. parse_project() validates everything and returns
// kInvalidArgument with a message that starts with the offending field's path
// ("schedules[0].cron: minute: value 61 out of range 0-59").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "kiln/events/v1/events.pb.h"

namespace kiln::project {

struct ScheduleSpec {
  std::string name;              // unique within the project; the schedule id is <project>/<name>
  std::string cron;              // 5-field expression or @daily-style macro
  std::string timezone = "UTC";  // IANA name
  std::string branch;            // empty: the project's default branch
};

struct TagPolicy {
  bool sha = true;                // sha-<first 7 of the commit>
  bool branch = true;             // the branch name, sanitised into a valid tag
  bool latest_on_default = true;  // latest, for the default branch
  bool semver = true;             // the tag itself for tag pushes matching the tag filters
};

struct Project {
  std::string name;
  std::string tenant = "default";
  std::string repository_url;   // clone URL: file://, https://, ssh://
  std::string repository_name;  // owner/name as the Git host names it (matches webhooks)
  std::string default_branch = "main";
  // store:NAME (the tenant's secret store), or env:VAR / file:/path of the server (for the
  // tenants an operator lists) — the secret itself is never stored.
  std::string webhook_secret_ref;
  // Names in the tenant's secret store (secrets/secret_store.h): the only build secrets of this
  // project besides the builder's own, each at /run/secrets/<name> for RUN --mount=type=secret.
  std::vector<std::string> secrets;
  std::string git_credentials_ref;  // store:NAME holding user:token for an http(s) repository
  std::string git_ssh_key_ref;      // store:NAME holding the private key for an ssh repository
  std::vector<std::string> branch_filters = {"*"};
  std::vector<std::string> tag_filters = {"v*"};
  std::vector<std::string> path_filters;  // empty: every change builds
  std::string dockerfile = "Dockerfile";
  std::string context = ".";
  std::map<std::string, std::string> build_args;
  std::string target;
  std::vector<std::string> platforms;
  std::string registry;          // host[:port]; empty: the server's default registry
  std::string image_repository;  // e.g. team/app; empty: kiln/<name>
  TagPolicy tag_policy;
  std::vector<ScheduleSpec> schedules;
  int concurrency = 2;  // running builds at once, 0: no project limit
  int timeout_seconds = 3600;
  int max_queue_seconds = 0;  // 0: wait as long as needed
  bool supersede = true;      // a newer build of the same branch cancels a queued older one
  bool network = false;       // RUN steps reach the network
};

Result<Project> parse_project(std::string_view json);
// JSON for storage and for the API; `with_secret_ref` false hides webhook_secret_ref.
std::string to_json(const Project& project, bool with_secret_ref = true);

// Resolves env:VAR or file:/path to the secret; kNotFound when it is not set. (store:NAME is
// read from secrets::SecretStore by who has one.)
Result<std::string> resolve_secret(const std::string& ref);

// Glob match as Git hosts' filters do it: `*` stops at '/', `**` crosses it, `?` is one char.
bool glob_match(std::string_view pattern, std::string_view text);
bool matches_any(const std::vector<std::string>& patterns, std::string_view text);

// Validators for names that end up in registries and subjects.
bool valid_project_name(std::string_view name);
bool valid_repository_path(std::string_view repository);  // OCI distribution name rules
bool valid_tag(std::string_view tag);
bool valid_registry_host(std::string_view host);

// Tags for a build of `ref` at `commit` under the project's tag policy. `ref` is a full ref
// (refs/heads/x, refs/tags/y) or a bare branch name.
std::vector<std::string> tags_for(const Project& project, std::string_view ref,
                                  std::string_view commit);
std::string sanitize_tag(std::string_view text);
// "refs/heads/main" -> "main"; "refs/tags/v1" -> "v1"; bare names unchanged.
std::string short_ref(std::string_view ref);
bool is_tag_ref(std::string_view ref);

// The build spec a project implies, with the server's default registry when the project has none.
events::v1::BuildSpec build_spec(const Project& project, const std::string& default_registry);

}  // namespace kiln::project
