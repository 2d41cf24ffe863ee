// A small command-line parser for subcommands: declared flags (with or without a value,
// repeatable), positionals, and --help text generated from the declarations.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace kiln::cli {

class Args {
 public:
  Args(std::string usage, std::string summary)
      : usage_(std::move(usage)), summary_(std::move(summary)) {}

  Args& flag(const std::string& name, const std::string& help, const std::string& short_name = "");
  Args& value(const std::string& name, const std::string& metavar, const std::string& help,
              const std::string& short_name = "");

  // Throws CliError(kExitUsage) on unknown flags or missing values. Returns false for --help
  // (help was printed).
  bool parse(const std::vector<std::string>& argv);

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  const std::vector<std::string>& all(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // The n-th positional or a usage error naming `what`.
  const std::string& require_positional(size_t n, const std::string& what) const;
  std::string help() const;

 private:
  struct Spec {
    std::string name, short_name, metavar, help;
    bool takes_value = false;
  };
  const Spec* find(const std::string& token) const;
  std::string usage_, summary_;
  std::vector<Spec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

}  // namespace kiln::cli
