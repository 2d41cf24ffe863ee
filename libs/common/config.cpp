#include "common/config.h"

#include <cctype>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/strings.h"

extern char** environ;

namespace kiln {
namespace {

// Blanks and the '\r' of CRLF lines.
constexpr std::string_view kLineSpace = " \t\r";

std::string unquote(const std::string& s) {
  if (s.size() >= 2 &&
      ((s.front() == '"' && s.back() == '"') || (s.front() == '\'' && s.back() == '\''))) {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

std::string markdown_cell(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

namespace config_detail {

long long parse_integer(const std::string& text, long long min, long long max,
                        const std::string& rule) {
  long long n = 0;
  try {
    size_t used = 0;
    n = std::stoll(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
  } catch (const std::exception&) {
    throw std::invalid_argument("must be an integer");
  }
  if (n < min || n > max) {
    throw std::invalid_argument(!rule.empty() ? rule
                                              : "must be between " + std::to_string(min) + " and " +
                                                    std::to_string(max));
  }
  return n;
}

void check_one_of(const std::string& text, const std::vector<std::string>& allowed) {
  if (allowed.empty() || std::find(allowed.begin(), allowed.end(), text) != allowed.end()) return;
  throw std::invalid_argument("must be one of " + join_list(allowed));
}

double parse_number(const std::string& text) {
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
    return v;
  } catch (const std::exception&) {
    throw std::invalid_argument("must be a number");
  }
}

bool parse_bool(const std::string& text) {
  const std::string v = to_lower(text);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off" || v.empty()) return false;
  throw std::invalid_argument("must be true or false");
}

std::vector<std::string> parse_list(const std::string& text) { return split_list(text); }

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

}  // namespace config_detail

Config::Option& Config::Option::range(long long min, long long max) {
  min_ = std::max(min_, min);
  max_ = std::min(max_, max);
  range_text_ = std::to_string(min_) + "–" + std::to_string(max_);
  range_rule_ = "must be between " + std::to_string(min_) + " and " + std::to_string(max_);
  return *this;
}

Config::Option& Config::Option::at_least(long long min) {
  min_ = std::max(min_, min);
  range_text_ = "≥ " + std::to_string(min_);
  range_rule_ = "must be at least " + std::to_string(min_);
  return *this;
}

Config::Option& Config::Option::one_of(std::vector<std::string> values) {
  one_of_ = std::move(values);
  range_text_ = config_detail::join_list(one_of_);
  return *this;
}

Config::Option& Config::Option::not_empty() {
  not_empty_ = true;
  return *this;
}

Config::Config(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {
  // Read by parse() itself, before the other options; nothing to store.
  declare("config", "Path of a config file with `name = value` lines", "", "text",
          [](const std::string&, const Option&) {});
}

Config::Option& Config::declare(const std::string& name, std::string help, std::string default_text,
                                std::string kind,
                                std::function<void(const std::string&, const Option&)> store) {
  if (options_.count(name)) throw std::logic_error("option " + name + " declared twice");
  order_.push_back(name);
  Option& option = options_[name];
  option.name_ = name;
  option.help_ = std::move(help);
  option.default_text_ = std::move(default_text);
  option.kind_ = std::move(kind);
  option.min_ = std::numeric_limits<long long>::min();
  option.max_ = std::numeric_limits<long long>::max();
  option.store_ = std::move(store);
  return option;
}

Config& Config::tolerate_environment(std::set<std::string> names) {
  tolerated_environment_.merge(names);
  return *this;
}

Config& Config::accept_arguments() {
  accepts_arguments_ = true;
  return *this;
}

std::string Config::env_name(const std::string& option_name) {
  std::string out = "KILN_";
  for (char c : option_name) {
    out += (c == '.' || c == '-') ? '_'
                                  : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

Config::Option& Config::find(const std::string& name, const std::string& where) {
  auto it = options_.find(name);
  if (it == options_.end()) {
    throw StartupError("unknown option '" + name + "' in " + where + " (see --help)");
  }
  return it->second;
}

const std::string& Config::source(const std::string& name) const {
  return options_.at(name).source_;
}

bool Config::parse(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string::npos && entry.rfind("KILN_", 0) == 0) {
      env[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  return parse(args, env);
}

bool Config::parse(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage();
      return false;
    }
    if (arg.rfind("--", 0) != 0) {
      if (!accepts_arguments_) {
        throw StartupError("unexpected argument '" + arg + "': " + program_ +
                           " takes options only (see --help)");
      }
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    const auto eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      throw StartupError("option --" + name + " needs a value");
    }
    find(name, "the command line");
    flags[name] = value;
  }
  check_environment(env);

  std::string config_path;
  if (auto it = flags.find("config"); it != flags.end()) {
    config_path = it->second;
  } else if (auto e = env.find("KILN_CONFIG"); e != env.end()) {
    config_path = e->second;
  }
  if (!config_path.empty()) load_file(config_path);

  for (auto& [name, option] : options_) {
    if (auto e = env.find(env_name(name)); e != env.end()) {
      option.value_ = e->second;
      option.source_ = "environment " + e->first;
    }
  }
  for (const auto& [name, value] : flags) {
    auto& option = options_.at(name);
    option.value_ = value;
    option.source_ = "command line";
  }
  // Defaults are never stored: the member already holds them, and a range is checked only where
  // someone chose a value.
  for (const auto& name : order_) {
    const Option& option = options_.at(name);
    if (!option.value_) continue;
    try {
      option.store_(*option.value_, option);
    } catch (const std::invalid_argument& e) {
      throw StartupError("option " + name + " " + e.what() + ", got '" + *option.value_ +
                         "' (from " + option.source_ + ")");
    }
  }
  return true;
}

void Config::check_environment(const std::map<std::string, std::string>& env) const {
  for (const auto& [variable, value] : env) {
    if (variable.rfind("KILN_", 0) != 0 || variable == "KILN_CONFIG") continue;
    if (tolerated_environment_.count(variable)) continue;
    bool declared = false;
    for (const auto& name : order_) declared = declared || env_name(name) == variable;
    if (!declared) {
      throw StartupError("unknown environment variable " + variable + ": no kiln program reads " +
                         "it (a typo? see --help and docs/configuration.md; KILN_ is reserved " +
                         "for kiln's settings)");
    }
  }
}

void Config::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw StartupError("cannot read config file " + path);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const auto hash = line.find('#');
    if (hash != std::string::npos) line = line.substr(0, hash);
    line = trim(line, kLineSpace);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    const std::string where = path + ":" + std::to_string(line_no);
    if (eq == std::string::npos) throw StartupError(where + ": expected `name = value`");
    auto& option = find(trim(line.substr(0, eq), kLineSpace), where);
    option.value_ = unquote(trim(line.substr(eq + 1), kLineSpace));
    option.source_ = where;
  }
}

std::string Config::usage() const {
  std::ostringstream out;
  out << "Usage: " << program_ << " [--config FILE] [--option value]...\n\n" << summary_ << "\n\n";
  out << "Options (flag > environment > config file > default):\n";
  for (const auto& name : order_) {
    const auto& option = options_.at(name);
    out << "  --" << name << "  (" << env_name(name) << ")\n      " << option.help_;
    if (!option.range_text_.empty()) out << " [" << option.range_text_ << "]";
    if (!option.default_text_.empty()) out << " [default: " << option.default_text_ << "]";
    out << "\n";
  }
  return out.str();
}

std::string Config::markdown(const std::set<std::string>& leave_out) const {
  std::ostringstream out;
  out << "## " << program_ << "\n\n" << summary_ << "\n\n";
  out << "| Option | Environment | Default | Values | Meaning |\n|---|---|---|---|---|\n";
  for (const auto& name : order_) {
    if (leave_out.count(name)) continue;
    const auto& o = options_.at(name);
    std::string values = o.kind_;
    if (!o.range_text_.empty()) values += " " + o.range_text_;
    if (o.not_empty_) values += ", required";
    out << "| `" << name << "` | `" << env_name(name) << "` | "
        << (o.default_text_.empty() ? "" : "`" + markdown_cell(o.default_text_) + "`") << " | "
        << values << " | " << markdown_cell(o.help_) << " |\n";
  }
  out << "\n";
  return out.str();
}

}  // namespace kiln
