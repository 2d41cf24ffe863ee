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

}  // namespace

Config::Config(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {
  option("config", "", "Path of a config file with `name = value` lines");
}

Config& Config::option(const std::string& name, const std::string& default_value,
                       const std::string& help) {
  if (!options_.count(name)) order_.push_back(name);
  options_[name] = Option{default_value, help, std::nullopt, "default"};
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
    throw ConfigError("unknown option '" + name + "' in " + where + " (see --help)");
  }
  return it->second;
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
      throw ConfigError("option --" + name + " needs a value");
    }
    find(name, "the command line");
    flags[name] = value;
  }

  std::string config_path;
  if (auto it = flags.find("config"); it != flags.end()) {
    config_path = it->second;
  } else if (auto e = env.find("KILN_CONFIG"); e != env.end()) {
    config_path = e->second;
  }
  if (!config_path.empty()) load_file(config_path);

  for (auto& [name, opt] : options_) {
    if (auto e = env.find(env_name(name)); e != env.end()) {
      opt.value = e->second;
      opt.source = "environment";
    }
  }
  for (const auto& [name, value] : flags) {
    auto& opt = options_.at(name);
    opt.value = value;
    opt.source = "command line";
  }
  return true;
}

void Config::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file " + path);
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
    if (eq == std::string::npos) throw ConfigError(where + ": expected `name = value`");
    const std::string name = trim(line.substr(0, eq), kLineSpace);
    auto& opt = find(name, where);
    opt.value = unquote(trim(line.substr(eq + 1), kLineSpace));
    opt.source = path;
  }
}

std::string Config::get(const std::string& name) const {
  const auto& opt = options_.at(name);
  return opt.value.value_or(opt.default_value);
}

long long Config::get_int(const std::string& name) const {
  const std::string v = get(name);
  try {
    size_t used = 0;
    const long long n = std::stoll(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return n;
  } catch (const std::exception&) {
    throw ConfigError("option " + name + " must be an integer, got '" + v + "'");
  }
}

double Config::get_double(const std::string& name) const {
  const std::string v = get(name);
  try {
    return std::stod(v);
  } catch (const std::exception&) {
    throw ConfigError("option " + name + " must be a number, got '" + v + "'");
  }
}

bool Config::get_bool(const std::string& name) const {
  const std::string v = get(name);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off" || v.empty()) return false;
  throw ConfigError("option " + name + " must be true or false, got '" + v + "'");
}

std::string Config::usage() const {
  std::ostringstream out;
  out << "Usage: " << program_ << " [--config FILE] [--option value]...\n\n" << summary_ << "\n\n";
  out << "Options (flag > environment > config file > default):\n";
  for (const auto& name : order_) {
    const auto& opt = options_.at(name);
    out << "  --" << name << "  (" << env_name(name) << ")\n      " << opt.help;
    if (!opt.default_value.empty()) out << " [default: " << opt.default_value << "]";
    out << "\n";
  }
  return out.str();
}

}  // namespace kiln
