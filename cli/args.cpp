#include "cli/args.h"

#include <iostream>
#include <sstream>

#include "cli/cli_error.h"

namespace kiln::cli {

Args& Args::flag(const std::string& name, const std::string& help, const std::string& short_name) {
  specs_.push_back(Spec{name, short_name, "", help, false});
  return *this;
}

Args& Args::value(const std::string& name, const std::string& metavar, const std::string& help,
                  const std::string& short_name) {
  specs_.push_back(Spec{name, short_name, metavar, help, true});
  return *this;
}

const Args::Spec* Args::find(const std::string& token) const {
  for (const auto& spec : specs_) {
    if (token == "--" + spec.name || (!spec.short_name.empty() && token == "-" + spec.short_name)) {
      return &spec;
    }
  }
  return nullptr;
}

bool Args::parse(const std::vector<std::string>& argv) {
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string token = argv[i];
    if (token == "--help" || token == "-h") {
      std::cout << help();
      return false;
    }
    if (token.size() < 2 || token[0] != '-') {
      positional_.push_back(token);
      continue;
    }
    std::string inline_value;
    bool has_inline = false;
    if (const auto eq = token.find('='); token.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = token.substr(eq + 1);
      token = token.substr(0, eq);
      has_inline = true;
    }
    const Spec* spec = find(token);
    if (spec == nullptr) throw CliError(kExitUsage, "unknown option " + token + "\n" + help());
    if (!spec->takes_value) {
      values_[spec->name].push_back("true");
      continue;
    }
    if (!has_inline) {
      if (i + 1 >= argv.size()) throw CliError(kExitUsage, "option " + token + " needs a value");
      inline_value = argv[++i];
    }
    values_[spec->name].push_back(inline_value);
  }
  return true;
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

const std::vector<std::string>& Args::all(const std::string& name) const {
  static const std::vector<std::string> kNone;
  auto it = values_.find(name);
  return it == values_.end() ? kNone : it->second;
}

const std::string& Args::require_positional(size_t n, const std::string& what) const {
  if (positional_.size() <= n) throw CliError(kExitUsage, "missing " + what + "\n" + help());
  return positional_[n];
}

std::string Args::help() const {
  std::ostringstream out;
  out << "Usage: " << usage_ << "\n\n" << summary_ << "\n";
  if (!specs_.empty()) out << "\nOptions:\n";
  for (const auto& spec : specs_) {
    std::string left = "  ";
    if (!spec.short_name.empty()) left += "-" + spec.short_name + ", ";
    left += "--" + spec.name;
    if (spec.takes_value) left += " " + spec.metavar;
    if (left.size() < 28) left.resize(28, ' ');
    out << left << " " << spec.help << "\n";
  }
  return out.str();
}

}  // namespace kiln::cli
