#include "project/project.h"

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "cron/cron.h"
#include "cron/time_zone.h"
#include "json/reader.h"
#include "json/writer.h"
#include "secrets/build_secrets.h"
#include "secrets/secret_store.h"

namespace kiln::project {
namespace {

void read_project(const json::Reader& r, Project& p) {
  p.name = r.string("name", p.name);
  p.tenant = r.string("tenant", p.tenant);
  p.repository_url = r.string("repository_url", p.repository_url);
  p.repository_name = r.string("repository_name", p.repository_name);
  p.default_branch = r.string("default_branch", p.default_branch);
  p.webhook_secret_ref = r.string("webhook_secret_ref", p.webhook_secret_ref);
  p.secrets = r.strings("secrets", p.secrets);
  p.git_credentials_ref = r.string("git_credentials_ref", p.git_credentials_ref);
  p.git_ssh_key_ref = r.string("git_ssh_key_ref", p.git_ssh_key_ref);
  p.branch_filters = r.strings("branch_filters", p.branch_filters);
  p.tag_filters = r.strings("tag_filters", p.tag_filters);
  p.path_filters = r.strings("path_filters", p.path_filters);
  p.dockerfile = r.string("dockerfile", p.dockerfile);
  p.context = r.string("context", p.context);
  p.build_args = r.string_map("build_args");
  p.target = r.string("target", p.target);
  p.platforms = r.strings("platforms", p.platforms);
  p.registry = r.string("registry", p.registry);
  p.image_repository = r.string("image_repository", p.image_repository);
  const json::Reader policy = r.object("tag_policy");
  p.tag_policy.sha = policy.boolean("sha", p.tag_policy.sha);
  p.tag_policy.branch = policy.boolean("branch", p.tag_policy.branch);
  p.tag_policy.latest_on_default =
      policy.boolean("latest_on_default", p.tag_policy.latest_on_default);
  p.tag_policy.semver = policy.boolean("semver", p.tag_policy.semver);
  policy.reject_unknown();
  for (const auto& s : r.objects("schedules")) {
    ScheduleSpec spec;
    spec.name = s.string("name", spec.name);
    spec.cron = s.string("cron", spec.cron);
    spec.timezone = s.string("timezone", spec.timezone);
    spec.branch = s.string("branch", spec.branch);
    s.reject_unknown();
    p.schedules.push_back(std::move(spec));
  }
  p.concurrency = static_cast<int>(r.integer("concurrency", p.concurrency, 0, 1000));
  p.timeout_seconds =
      static_cast<int>(r.integer("timeout_seconds", p.timeout_seconds, 1, 24 * 3600));
  p.max_queue_seconds =
      static_cast<int>(r.integer("max_queue_seconds", p.max_queue_seconds, 0, 7 * 24 * 3600));
  p.supersede = r.boolean("supersede", p.supersede);
  p.network = r.boolean("network", p.network);
  r.reject_unknown();
}

void validate(Project& p) {
  if (!valid_project_name(p.name)) {
    throw json::invalid_field(
        "name", "must be 1-63 characters of a-z, 0-9, '-' or '_', starting with a letter or digit");
  }
  if (p.repository_url.empty()) throw json::missing_field("repository_url");
  const bool known_scheme =
      p.repository_url.rfind("file://", 0) == 0 || p.repository_url.rfind("https://", 0) == 0 ||
      p.repository_url.rfind("http://", 0) == 0 || p.repository_url.rfind("ssh://", 0) == 0 ||
      p.repository_url.find('@') != std::string::npos;
  if (!known_scheme) {
    throw json::invalid_field("repository_url", "must be a file://, http(s):// or ssh:// URL");
  }
  auto valid_store_ref = [](const std::string& ref) {
    auto name = secrets::store_ref_name(ref);
    return name && secrets::valid_secret_id(*name);
  };
  if (!p.webhook_secret_ref.empty() && p.webhook_secret_ref.rfind("env:", 0) != 0 &&
      p.webhook_secret_ref.rfind("file:", 0) != 0 && !valid_store_ref(p.webhook_secret_ref)) {
    throw json::invalid_field(
        "webhook_secret_ref",
        "must be store:NAME, env:VARIABLE or file:/path (the secret itself is never stored)");
  }
  for (size_t i = 0; i < p.secrets.size(); ++i) {
    if (!secrets::valid_secret_id(p.secrets[i])) {
      throw json::invalid_field("secrets[" + std::to_string(i) + "]",
                                "'" + p.secrets[i] +
                                    "' is not a secret name (letters, digits, '_', '-'), the name "
                                    "of a file in the tenant's secret store");
    }
  }
  for (const auto& [field, ref] : {std::pair{"git_credentials_ref", &p.git_credentials_ref},
                                   std::pair{"git_ssh_key_ref", &p.git_ssh_key_ref}}) {
    if (!ref->empty() && !valid_store_ref(*ref)) {
      throw json::invalid_field(field, "must be store:NAME (a file of the tenant's secret store)");
    }
  }
  if (p.image_repository.empty()) p.image_repository = "kiln/" + p.name;
  if (!valid_repository_path(p.image_repository)) {
    throw json::invalid_field("image_repository",
                              "'" + p.image_repository +
                                  "' is not a valid repository name (lowercase path components of "
                                  "a-z0-9 separated by '.', '_', '__' or '-', joined by '/')");
  }
  if (!p.registry.empty() && !valid_registry_host(p.registry)) {
    throw json::invalid_field("registry", "'" + p.registry + "' is not a host[:port]");
  }
  if (p.dockerfile.empty() || p.dockerfile.front() == '/' ||
      p.dockerfile.find("..") != std::string::npos) {
    throw json::invalid_field("dockerfile", "must be a relative path inside the repository");
  }
  if (p.context.empty() || p.context.front() == '/' || p.context.find("..") != std::string::npos) {
    throw json::invalid_field("context", "must be a relative path inside the repository");
  }
  auto check_globs = [](const std::string& field, const std::vector<std::string>& globs) {
    for (size_t i = 0; i < globs.size(); ++i) {
      const std::string& g = globs[i];
      int depth = 0;
      for (char c : g) {
        if (c == '[') ++depth;
        if (c == ']') --depth;
        if (depth < 0 || depth > 1) break;
      }
      if (g.empty() || depth != 0) {
        throw json::invalid_field(field + "[" + std::to_string(i) + "]",
                                  "'" + g + "' is not a valid glob");
      }
    }
  };
  check_globs("branch_filters", p.branch_filters);
  check_globs("tag_filters", p.tag_filters);
  check_globs("path_filters", p.path_filters);
  std::set<std::string> schedule_names;
  for (size_t i = 0; i < p.schedules.size(); ++i) {
    auto& s = p.schedules[i];
    const std::string path = "schedules[" + std::to_string(i) + "]";
    if (s.name.empty()) s.name = "schedule-" + std::to_string(i + 1);
    if (!valid_project_name(s.name))
      throw json::invalid_field(path + ".name", "must be like a project name");
    if (!schedule_names.insert(s.name).second)
      throw json::invalid_field(path + ".name", "is used twice");
    auto parsed = cron::Schedule::parse(s.cron);
    if (!parsed.ok()) throw json::invalid_field(path + ".cron", parsed.error().message);
    auto zone = cron::TimeZone::load(s.timezone);
    if (!zone.ok()) throw json::invalid_field(path + ".timezone", zone.error().message);
  }
  for (const auto& [key, value] : p.build_args) {
    if (key.empty() || key.find('=') != std::string::npos) {
      throw json::invalid_field("build_args." + key, "is not a valid build argument name");
    }
  }
}

}  // namespace

Result<Project> parse_project(std::string_view text) {
  return json::read_object(text, [](const json::Reader& r) {
    Project p;
    read_project(r, p);
    validate(p);
    return p;
  });
}

std::string to_json(const Project& p, bool with_secret_ref) {
  auto strings = [](const std::vector<std::string>& values) {
    json::Array a;
    for (const auto& v : values) a.add(v);
    return a;
  };
  json::Object o;
  o.add("name", p.name)
      .add("tenant", p.tenant)
      .add("repository_url", p.repository_url)
      .add("repository_name", p.repository_name)
      .add("default_branch", p.default_branch);
  if (with_secret_ref) {
    o.add("webhook_secret_ref", p.webhook_secret_ref);
  } else {
    o.add("webhook_secret_set", !p.webhook_secret_ref.empty());
  }
  json::Object args;
  for (const auto& [k, v] : p.build_args) args.add(k, v);
  json::Array schedules;
  for (const auto& s : p.schedules) {
    schedules.add(json::Object()
                      .add("name", s.name)
                      .add("cron", s.cron)
                      .add("timezone", s.timezone)
                      .add("branch", s.branch));
  }
  o.add("branch_filters", strings(p.branch_filters))
      .add("tag_filters", strings(p.tag_filters))
      .add("path_filters", strings(p.path_filters))
      .add("dockerfile", p.dockerfile)
      .add("context", p.context)
      .add("build_args", args)
      .add("target", p.target)
      .add("platforms", strings(p.platforms))
      .add("registry", p.registry)
      .add("image_repository", p.image_repository)
      .add("tag_policy", json::Object()
                             .add("sha", p.tag_policy.sha)
                             .add("branch", p.tag_policy.branch)
                             .add("latest_on_default", p.tag_policy.latest_on_default)
                             .add("semver", p.tag_policy.semver))
      .add("schedules", schedules)
      .add("concurrency", p.concurrency)
      .add("timeout_seconds", p.timeout_seconds)
      .add("max_queue_seconds", p.max_queue_seconds)
      .add("supersede", p.supersede)
      .add("network", p.network)
      .add("secrets", strings(p.secrets))
      .add("git_credentials_ref", p.git_credentials_ref)
      .add("git_ssh_key_ref", p.git_ssh_key_ref);
  return o.str();
}

Result<std::string> resolve_secret(const std::string& ref) {
  if (ref.rfind("env:", 0) == 0) {
    const char* value = std::getenv(ref.substr(4).c_str());
    if (value == nullptr || *value == '\0') {
      return make_error(ErrorCode::kNotFound,
                        "environment variable " + ref.substr(4) + " is not set");
    }
    return std::string(value);
  }
  if (ref.rfind("file:", 0) == 0) {
    std::ifstream in(ref.substr(5));
    if (!in) return make_error(ErrorCode::kNotFound, "cannot read secret file " + ref.substr(5));
    std::stringstream content;
    content << in.rdbuf();
    std::string secret = content.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    return secret;
  }
  return make_error(ErrorCode::kInvalidArgument, "secret reference must be env:VAR or file:/path");
}

bool glob_match(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern.substr(0, 2) == "**") {
    std::string_view rest = pattern.substr(2);
    if (!rest.empty() && rest.front() == '/') {
      // "**/x" also matches "x" at the top.
      if (glob_match(rest.substr(1), text)) return true;
    }
    for (size_t i = 0; i <= text.size(); ++i) {
      if (glob_match(rest, text.substr(i))) return true;
    }
    return false;
  }
  const char p = pattern.front();
  if (p == '*') {
    for (size_t i = 0; i <= text.size(); ++i) {
      if (glob_match(pattern.substr(1), text.substr(i))) return true;
      if (i < text.size() && text[i] == '/') break;
    }
    return false;
  }
  if (text.empty()) return false;
  if (p == '?') return text.front() != '/' && glob_match(pattern.substr(1), text.substr(1));
  if (p == '[') {
    const size_t close = pattern.find(']', 1);
    if (close == std::string_view::npos)
      return p == text.front() && glob_match(pattern.substr(1), text.substr(1));
    std::string_view set = pattern.substr(1, close - 1);
    bool negate = !set.empty() && (set.front() == '!' || set.front() == '^');
    if (negate) set.remove_prefix(1);
    bool found = false;
    for (size_t i = 0; i < set.size(); ++i) {
      if (i + 2 < set.size() && set[i + 1] == '-') {
        if (text.front() >= set[i] && text.front() <= set[i + 2]) found = true;
        i += 2;
      } else if (set[i] == text.front()) {
        found = true;
      }
    }
    return found != negate && glob_match(pattern.substr(close + 1), text.substr(1));
  }
  return p == text.front() && glob_match(pattern.substr(1), text.substr(1));
}

bool matches_any(const std::vector<std::string>& patterns, std::string_view text) {
  for (const auto& p : patterns) {
    if (glob_match(p, text)) return true;
  }
  return false;
}

bool valid_project_name(std::string_view name) {
  static const std::regex kName("[a-z0-9][a-z0-9_-]{0,62}");
  return std::regex_match(name.begin(), name.end(), kName);
}

bool valid_repository_path(std::string_view repository) {
  static const std::regex kPath(
      "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*");
  return repository.size() <= 255 && std::regex_match(repository.begin(), repository.end(), kPath);
}

bool valid_tag(std::string_view tag) {
  static const std::regex kTag("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
  return std::regex_match(tag.begin(), tag.end(), kTag);
}

bool valid_registry_host(std::string_view host) {
  static const std::regex kHost(
      "(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\\.(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])"
      "?))*"
      "(?::[0-9]{1,5})?");
  return std::regex_match(host.begin(), host.end(), kHost);
}

std::string short_ref(std::string_view ref) {
  for (std::string_view prefix : {"refs/heads/", "refs/tags/"}) {
    if (ref.substr(0, prefix.size()) == prefix) return std::string(ref.substr(prefix.size()));
  }
  return std::string(ref);
}

bool is_tag_ref(std::string_view ref) { return ref.substr(0, 10) == "refs/tags/"; }

std::string sanitize_tag(std::string_view text) {
  std::string out;
  for (char c : text) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool ok = (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9') ||
                    lower == '.' || lower == '_' || lower == '-';
    out += ok ? lower : '-';
  }
  while (!out.empty() && (out.front() == '.' || out.front() == '-')) out.erase(out.begin());
  if (out.size() > 128) out.resize(128);
  return out;
}

std::vector<std::string> tags_for(const Project& project, std::string_view ref,
                                  std::string_view commit) {
  std::vector<std::string> tags;
  auto add = [&tags](const std::string& tag) {
    if (valid_tag(tag) && std::find(tags.begin(), tags.end(), tag) == tags.end())
      tags.push_back(tag);
  };
  const std::string name = short_ref(ref);
  if (is_tag_ref(ref)) {
    if (project.tag_policy.semver) add(name);
  } else {
    if (project.tag_policy.branch) add(sanitize_tag(name));
    if (project.tag_policy.latest_on_default && name == project.default_branch) add("latest");
  }
  if (project.tag_policy.sha && commit.size() >= 7) add("sha-" + std::string(commit.substr(0, 7)));
  if (tags.empty()) add("latest");
  return tags;
}

events::v1::BuildSpec build_spec(const Project& project, const std::string& default_registry) {
  events::v1::BuildSpec spec;
  spec.set_dockerfile(project.dockerfile);
  spec.set_context(project.context);
  for (const auto& [k, v] : project.build_args) (*spec.mutable_build_args())[k] = v;
  spec.set_target(project.target);
  for (const auto& p : project.platforms) spec.add_platforms(p);
  spec.set_image_repository(project.image_repository);
  spec.set_registry(project.registry.empty() ? default_registry : project.registry);
  spec.set_timeout_seconds(project.timeout_seconds);
  spec.set_network(project.network);
  spec.set_supersede(project.supersede);
  for (const auto& name : project.secrets) spec.add_store_secrets(name);
  spec.set_git_credentials_ref(project.git_credentials_ref);
  spec.set_git_ssh_key_ref(project.git_ssh_key_ref);
  return spec;
}

}  // namespace kiln::project
