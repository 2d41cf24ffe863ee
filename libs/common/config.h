// Service configuration. Each part of a service keeps its settings in a plain struct whose member
// initialisers are the defaults; `bind` ties an option name, its help and its valid range to a
// member, once. `parse` then reads (lowest to highest precedence) the default, a config file
// (`--config FILE` or KILN_CONFIG), the environment (KILN_<NAME>: dots and dashes as underscores,
// upper case) and command-line flags (`--name=value` or `--name value`), checks every value and
// writes it into the bound member. `--help` and docs/configuration.md are generated from the same
// declarations, so a default is never written twice and a struct is handed down unchanged.
//
// An unknown name in the file, on the command line or as a KILN_* environment variable is an
// error at start-up, never a silently ignored typo. One environment often serves several
// services, so variables another kiln service or script reads can be declared as known
// (`tolerate_environment`). Errors are thrown as StartupError, the one exception type of the
// start-up boundary (service::run turns it into a message and exit code 1).
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace kiln {

// Why a service could not start: a bad option, a bucket it cannot open, a port it cannot bind.
class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Config {
 public:
  // One declared option. The check functions return *this so a declaration reads as one line.
  class Option {
   public:
    // Integers only: the accepted range, inclusive.
    Option& range(long long min, long long max);
    Option& at_least(long long min);
    // Text and lists: the empty value is refused.
    Option& not_empty();
    // Text: only these values are accepted.
    Option& one_of(std::vector<std::string> values);

   private:
    friend class Config;
    std::string name_;
    std::string help_;
    std::string default_text_;
    std::string kind_;  // integer, number, text, list, true/false: for --help and the docs
    long long min_;
    long long max_;
    bool not_empty_ = false;
    std::vector<std::string> one_of_;
    std::string range_text_;  // what range()/at_least() allow, for --help and the docs
    std::string range_rule_;  // the same, for an error message
    // Parses `text`, checks it against this option's rules and stores it in the bound member;
    // throws std::invalid_argument with the reason (Config adds the name and where it came from).
    std::function<void(const std::string& text, const Option&)> store_;
    std::optional<std::string> value_;
    std::string source_ = "default";
  };

  Config(std::string program, std::string summary);

  // Declares option `name` (dots and dashes, e.g. "nats.url") bound to `member`, whose current
  // value is the default. `member` must outlive parse(). Supported: std::string, bool, integers,
  // double and std::vector<std::string> (a comma list; blanks around items and empty items are
  // dropped).
  template <typename T>
  Option& bind(const std::string& name, T& member, std::string help);

  // Names of KILN_* variables this program does not read but other kiln programs do.
  Config& tolerate_environment(std::set<std::string> names);
  // Lets arguments that are not options through to positional() (a command such as `rebuild`);
  // without it they are an error.
  Config& accept_arguments();

  // Returns false when --help was asked for (usage was printed to stdout): the caller exits 0.
  // Positional arguments (not starting with --) are kept in positional().
  bool parse(int argc, char** argv);
  // Same, from an explicit argument list (without the program name) and environment.
  bool parse(const std::vector<std::string>& args, const std::map<std::string, std::string>& env);

  const std::vector<std::string>& positional() const { return positional_; }
  // Where the value of `name` came from: "default", a file path, "environment", "command line".
  const std::string& source(const std::string& name) const;
  // Option names in declaration order.
  std::vector<std::string> names() const { return order_; }

  std::string usage() const;
  // A Markdown section for docs/configuration.md: one table row per option but those named in
  // `leave_out` (documented elsewhere).
  std::string markdown(const std::set<std::string>& leave_out = {}) const;
  static std::string env_name(const std::string& option_name);

 private:
  Option& declare(const std::string& name, std::string help, std::string default_text,
                  std::string kind, std::function<void(const std::string&, const Option&)> store);
  Option& find(const std::string& name, const std::string& where);
  void load_file(const std::string& path);
  void check_environment(const std::map<std::string, std::string>& env) const;

  std::string program_;
  std::string summary_;
  std::map<std::string, Option> options_;
  std::vector<std::string> order_;
  std::vector<std::string> positional_;
  std::set<std::string> tolerated_environment_;
  bool accepts_arguments_ = false;
};

namespace config_detail {
// Parsers behind bind(); each throws std::invalid_argument naming what was expected.
// `rule` says what is allowed ("must be at least 1"); empty: the bounds are named.
long long parse_integer(const std::string& text, long long min, long long max,
                        const std::string& rule);
double parse_number(const std::string& text);
void check_one_of(const std::string& text, const std::vector<std::string>& allowed);
bool parse_bool(const std::string& text);
std::vector<std::string> parse_list(const std::string& text);
std::string format_number(double value);
std::string join_list(const std::vector<std::string>& items);

template <typename T>
struct is_duration : std::false_type {};
template <typename Rep, typename Period>
struct is_duration<std::chrono::duration<Rep, Period>> : std::true_type {};
}  // namespace config_detail

template <typename T>
Config::Option& Config::bind(const std::string& name, T& member, std::string help) {
  namespace d = config_detail;
  T* target = &member;
  if constexpr (std::is_same_v<T, std::string>) {
    return declare(name, std::move(help), member, "text",
                   [target](const std::string& text, const Option& o) {
                     if (o.not_empty_ && text.empty()) throw std::invalid_argument("must be set");
                     d::check_one_of(text, o.one_of_);
                     *target = text;
                   });
  } else if constexpr (std::is_same_v<T, bool>) {
    return declare(
        name, std::move(help), member ? "true" : "false", "true/false",
        [target](const std::string& text, const Option&) { *target = d::parse_bool(text); });
  } else if constexpr (std::is_integral_v<T>) {
    static_assert(sizeof(T) <= sizeof(long long));
    auto& option =
        declare(name, std::move(help), std::to_string(member), "integer",
                [target](const std::string& text, const Option& o) {
                  *target = static_cast<T>(d::parse_integer(text, o.min_, o.max_, o.range_rule_));
                });
    // The member's own type bounds the range; range() narrows it further.
    option.min_ = std::is_signed_v<T> ? static_cast<long long>(std::numeric_limits<T>::min()) : 0;
    option.max_ = static_cast<long long>(std::min<unsigned long long>(
        std::numeric_limits<T>::max(),
        static_cast<unsigned long long>(std::numeric_limits<long long>::max())));
    return option;
  } else if constexpr (d::is_duration<T>::value) {
    // A count of the duration's own unit; the option's name says which (…-seconds, …-ms).
    auto& option = declare(name, std::move(help), std::to_string(member.count()), "integer",
                           [target](const std::string& text, const Option& o) {
                             *target = T(d::parse_integer(text, o.min_, o.max_, o.range_rule_));
                           });
    option.min_ = 0;
    return option;
  } else if constexpr (std::is_floating_point_v<T>) {
    return declare(name, std::move(help), d::format_number(member), "number",
                   [target](const std::string& text, const Option&) {
                     *target = static_cast<T>(d::parse_number(text));
                   });
  } else {
    static_assert(std::is_same_v<T, std::vector<std::string>>, "unsupported option type");
    return declare(name, std::move(help), d::join_list(member), "list",
                   [target](const std::string& text, const Option& o) {
                     auto items = d::parse_list(text);
                     if (o.not_empty_ && items.empty()) throw std::invalid_argument("must be set");
                     *target = std::move(items);
                   });
  }
}

}  // namespace kiln
