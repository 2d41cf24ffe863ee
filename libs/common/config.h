// Service configuration: every option is declared once with its default and help text, then
// read from (lowest to highest precedence) the default, a config file (`--config FILE` or
// KILN_CONFIG), the environment (KILN_<NAME> with dots and dashes as underscores, upper case) and
// command-line flags (`--name=value` or `--name value`).
//
// The file format is `name = value` per line, `#` starts a comment. An unknown name in the file or
// on the command line is an error at start-up, never a silently ignored typo. Errors are thrown as
// ConfigError; `--help` is reported through Config::parse's return value.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Config {
 public:
  Config(std::string program, std::string summary);

  // Declares an option. `name` uses dots or dashes, e.g. "nats.url" or "http-port".
  Config& option(const std::string& name, const std::string& default_value,
                 const std::string& help);

  // Returns false when --help was asked for (usage was printed to stdout): the caller exits 0.
  // Positional arguments (not starting with --) are kept in positional().
  bool parse(int argc, char** argv);
  // Same, from an explicit environment (used by tests).
  bool parse(const std::vector<std::string>& args, const std::map<std::string, std::string>& env);

  std::string get(const std::string& name) const;
  long long get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  std::string usage() const;
  static std::string env_name(const std::string& option_name);

 private:
  struct Option {
    std::string default_value;
    std::string help;
    std::optional<std::string> value;
    std::string source = "default";
  };
  void load_file(const std::string& path);
  Option& find(const std::string& name, const std::string& where);

  std::string program_;
  std::string summary_;
  std::map<std::string, Option> options_;
  std::vector<std::string> order_;
  std::vector<std::string> positional_;
};

}  // namespace kiln
