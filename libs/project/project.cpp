#include "project/project.h"

#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "cron/cron.h"
#include "cron/time_zone.h"

namespace kiln::project {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

Error field_error(const std::string& field, const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, field + ": " + message);
}

// Reads typed fields from one JSON object and remembers which keys were consumed, so that
// unknown keys (typos) can be reported.
class Reader {
 public:
  Reader(Object::Ptr object, std::string path)
      : object_(std::move(object)), path_(std::move(path)) {}

  std::string field(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }

  bool has(const std::string& key) {
    seen_.insert(key);
    return object_->has(key) && !object_->isNull(key);
  }

  void string(const std::string& key, std::string& out) {
    if (!has(key)) return;
    auto v = object_->get(key);
    if (!v.isString()) throw field_error(field(key), "must be a string");
    out = v.convert<std::string>();
  }
  void boolean(const std::string& key, bool& out) {
    if (!has(key)) return;
    auto v = object_->get(key);
    if (!v.isBoolean()) throw field_error(field(key), "must be true or false");
    out = v.convert<bool>();
  }
  void integer(const std::string& key, int& out, int min, int max) {
    if (!has(key)) return;
    auto v = object_->get(key);
    if (!v.isInteger()) throw field_error(field(key), "must be an integer");
    const long long n = v.convert<long long>();
    if (n < min || n > max) {
      throw field_error(field(key),
                        "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    out = static_cast<int>(n);
  }
  void strings(const std::string& key, std::vector<std::string>& out) {
    if (!has(key)) return;
    auto array = object_->getArray(key);
    if (!array) throw field_error(field(key), "must be an array of strings");
    out.clear();
    for (size_t i = 0; i < array->size(); ++i) {
      auto v = array->get(static_cast<unsigned>(i));
      if (!v.isString())
        throw field_error(field(key) + "[" + std::to_string(i) + "]", "must be a string");
      out.push_back(v.convert<std::string>());
    }
  }
  void string_map(const std::string& key, std::map<std::string, std::string>& out) {
    if (!has(key)) return;
    auto object = object_->getObject(key);
    if (!object) throw field_error(field(key), "must be an object of strings");
    for (const auto& name : object->getNames()) {
      auto v = object->get(name);
      if (!v.isString()) throw field_error(field(key) + "." + name, "must be a string");
      out[name] = v.convert<std::string>();
    }
  }
  Object::Ptr object(const std::string& key) {
    if (!has(key)) return nullptr;
    auto o = object_->getObject(key);
    if (!o) throw field_error(field(key), "must be an object");
    return o;
  }
  Array::Ptr array(const std::string& key) {
    if (!has(key)) return nullptr;
    auto a = object_->getArray(key);
    if (!a) throw field_error(field(key), "must be an array");
    return a;
  }
  void reject_unknown() const {
    for (const auto& name : object_->getNames()) {
      if (!seen_.count(name)) throw field_error(field(name), "unknown field");
    }
  }

 private:
  Object::Ptr object_;
  std::string path_;
  std::set<std::string> seen_;
};

void read_project(Reader& r, Project& p) {
  r.string("name", p.name);
  r.string("tenant", p.tenant);
  r.string("repository_url", p.repository_url);
  r.string("repository_name", p.repository_name);
  r.string("default_branch", p.default_branch);
  r.string("webhook_secret_ref", p.webhook_secret_ref);
  r.strings("branch_filters", p.branch_filters);
  r.strings("tag_filters", p.tag_filters);
  r.strings("path_filters", p.path_filters);
  r.string("dockerfile", p.dockerfile);
  r.string("context", p.context);
  r.string_map("build_args", p.build_args);
  r.string("target", p.target);
  r.strings("platforms", p.platforms);
  r.string("registry", p.registry);
  r.string("image_repository", p.image_repository);
  if (auto policy = r.object("tag_policy")) {
    Reader pr(policy, r.field("tag_policy"));
    pr.boolean("sha", p.tag_policy.sha);
    pr.boolean("branch", p.tag_policy.branch);
    pr.boolean("latest_on_default", p.tag_policy.latest_on_default);
    pr.boolean("semver", p.tag_policy.semver);
    pr.reject_unknown();
  }
  if (auto schedules = r.array("schedules")) {
    for (size_t i = 0; i < schedules->size(); ++i) {
      const std::string path = r.field("schedules") + "[" + std::to_string(i) + "]";
      auto o = schedules->getObject(static_cast<unsigned>(i));
      if (!o) throw field_error(path, "must be an object");
      Reader sr(o, path);
      ScheduleSpec s;
      sr.string("name", s.name);
      sr.string("cron", s.cron);
      sr.string("timezone", s.timezone);
      sr.string("branch", s.branch);
      sr.reject_unknown();
      p.schedules.push_back(s);
    }
  }
  r.integer("concurrency", p.concurrency, 0, 1000);
  r.integer("timeout_seconds", p.timeout_seconds, 1, 24 * 3600);
  r.integer("max_queue_seconds", p.max_queue_seconds, 0, 7 * 24 * 3600);
  r.boolean("supersede", p.supersede);
  r.boolean("network", p.network);
  r.reject_unknown();
}

void validate(Project& p) {
  if (!valid_project_name(p.name)) {
    throw field_error(
        "name", "must be 1-63 characters of a-z, 0-9, '-' or '_', starting with a letter or digit");
  }
  if (p.repository_url.empty()) throw field_error("repository_url", "is required");
  const bool known_scheme =
      p.repository_url.rfind("file://", 0) == 0 || p.repository_url.rfind("https://", 0) == 0 ||
      p.repository_url.rfind("http://", 0) == 0 || p.repository_url.rfind("ssh://", 0) == 0 ||
      p.repository_url.find('@') != std::string::npos;
  if (!known_scheme) {
    throw field_error("repository_url", "must be a file://, http(s):// or ssh:// URL");
  }
  if (!p.webhook_secret_ref.empty() && p.webhook_secret_ref.rfind("env:", 0) != 0 &&
      p.webhook_secret_ref.rfind("file:", 0) != 0) {
    throw field_error("webhook_secret_ref",
                      "must be env:VARIABLE or file:/path (the secret itself is never stored)");
  }
  if (p.image_repository.empty()) p.image_repository = "kiln/" + p.name;
  if (!valid_repository_path(p.image_repository)) {
    throw field_error("image_repository",
                      "'" + p.image_repository +
                          "' is not a valid repository name (lowercase path components of "
                          "a-z0-9 separated by '.', '_', '__' or '-', joined by '/')");
  }
  if (!p.registry.empty() && !valid_registry_host(p.registry)) {
    throw field_error("registry", "'" + p.registry + "' is not a host[:port]");
  }
  if (p.dockerfile.empty() || p.dockerfile.front() == '/' ||
      p.dockerfile.find("..") != std::string::npos) {
    throw field_error("dockerfile", "must be a relative path inside the repository");
  }
  if (p.context.empty() || p.context.front() == '/' || p.context.find("..") != std::string::npos) {
    throw field_error("context", "must be a relative path inside the repository");
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
        throw field_error(field + "[" + std::to_string(i) + "]", "'" + g + "' is not a valid glob");
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
      throw field_error(path + ".name", "must be like a project name");
    if (!schedule_names.insert(s.name).second) throw field_error(path + ".name", "is used twice");
    auto parsed = cron::Schedule::parse(s.cron);
    if (!parsed.ok()) throw field_error(path + ".cron", parsed.error().message);
    auto zone = cron::TimeZone::load(s.timezone);
    if (!zone.ok()) throw field_error(path + ".timezone", zone.error().message);
  }
  for (const auto& [key, value] : p.build_args) {
    if (key.empty() || key.find('=') != std::string::npos) {
      throw field_error("build_args." + key, "is not a valid build argument name");
    }
  }
}

}  // namespace

Result<Project> parse_project(std::string_view json) {
  Poco::JSON::Parser parser;
  Poco::Dynamic::Var root;
  try {
    root = parser.parse(std::string(json));
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInvalidArgument, std::string("malformed JSON: ") + e.what());
  }
  Object::Ptr object = root.type() == typeid(Object::Ptr) ? root.extract<Object::Ptr>() : nullptr;
  if (!object) return make_error(ErrorCode::kInvalidArgument, "a project must be a JSON object");
  Project p;
  try {
    Reader reader(object, "");
    read_project(reader, p);
    validate(p);
  } catch (const Error& e) {
    return e;
  } catch (const Poco::Exception& e) {
    return make_error(ErrorCode::kInvalidArgument, e.displayText());
  }
  return p;
}

std::string to_json(const Project& p, bool with_secret_ref) {
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  auto strings = [](const std::vector<std::string>& v) {
    Array::Ptr a = new Array();
    for (const auto& s : v) a->add(s);
    return a;
  };
  o.set("name", p.name);
  o.set("tenant", p.tenant);
  o.set("repository_url", p.repository_url);
  o.set("repository_name", p.repository_name);
  o.set("default_branch", p.default_branch);
  if (with_secret_ref) {
    o.set("webhook_secret_ref", p.webhook_secret_ref);
  } else {
    o.set("webhook_secret_set", !p.webhook_secret_ref.empty());
  }
  o.set("branch_filters", strings(p.branch_filters));
  o.set("tag_filters", strings(p.tag_filters));
  o.set("path_filters", strings(p.path_filters));
  o.set("dockerfile", p.dockerfile);
  o.set("context", p.context);
  Object::Ptr args = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  for (const auto& [k, v] : p.build_args) args->set(k, v);
  o.set("build_args", args);
  o.set("target", p.target);
  o.set("platforms", strings(p.platforms));
  o.set("registry", p.registry);
  o.set("image_repository", p.image_repository);
  Object::Ptr policy = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  policy->set("sha", p.tag_policy.sha);
  policy->set("branch", p.tag_policy.branch);
  policy->set("latest_on_default", p.tag_policy.latest_on_default);
  policy->set("semver", p.tag_policy.semver);
  o.set("tag_policy", policy);
  Array::Ptr schedules = new Array();
  for (const auto& s : p.schedules) {
    Object::Ptr so = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    so->set("name", s.name);
    so->set("cron", s.cron);
    so->set("timezone", s.timezone);
    so->set("branch", s.branch);
    schedules->add(so);
  }
  o.set("schedules", schedules);
  o.set("concurrency", p.concurrency);
  o.set("timeout_seconds", p.timeout_seconds);
  o.set("max_queue_seconds", p.max_queue_seconds);
  o.set("supersede", p.supersede);
  o.set("network", p.network);
  std::ostringstream out;
  o.stringify(out);
  return out.str();
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
  return spec;
}

}  // namespace kiln::project
