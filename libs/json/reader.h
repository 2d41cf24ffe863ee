// Typed reads from JSON text that name the offending field by its path from the top
// ("schedules[2].cron", "head_commit.author.name"): what the project file, the webhook payloads
// and the command API are read with.
//
// Error convention: a Reader throws kiln::Error, so that a parser reads as a plain list of fields;
// the parser's entry point turns it into a Result<T> — read_object() does exactly that, and an
// HTTP handler may catch it instead. Nothing else escapes: Poco's exceptions become one of these.
// Every Error is kInvalidArgument, its message starts with the field's path, and its peer_code
// names the kind, which HTTP answers use as their error code:
//   malformed_json  "malformed JSON: line 3, column 8: unexpected byte 'x' in value"
//   missing_field   "ref: is required"
//   invalid_field   "commits[0].added[1]: must be a string" (or any rule the caller checks)
#pragma once

#include <Poco/JSON/Object.h>

#include <exception>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/result.h"

namespace kiln::json {

Error malformed_json(const std::string& message);
Error missing_field(const std::string& path);
Error invalid_field(const std::string& path, const std::string& message);

// The top-level object of `text`; throws malformed_json, with the line and column of a syntax
// error, when it is not one.
Poco::JSON::Object::Ptr parse_object(std::string_view text);

// A JSON object and its path from the top. Absent and null values are the same: "not given",
// which gives the fallback; a value of the wrong type always throws, even for an optional field.
class Reader {
 public:
  // An absent object: every read gives its fallback.
  Reader() = default;
  explicit Reader(Poco::JSON::Object::Ptr object, std::string path = {})
      : object_(std::move(object)), path_(std::move(path)) {}

  bool present() const { return !object_.isNull(); }
  std::string path_of(std::string_view key) const;
  // Whether `key` holds a value; only the reads below count as asking about it.
  bool has(const std::string& key) const;

  std::string string(const std::string& key, std::string fallback = {}) const;
  std::string required_string(const std::string& key) const;
  bool boolean(const std::string& key, bool fallback) const;
  bool required_boolean(const std::string& key) const;
  long long integer(const std::string& key, long long fallback) const;
  // "<path>: must be between <min> and <max>" outside the range.
  long long integer(const std::string& key, long long fallback, long long min, long long max) const;
  long long required_integer(const std::string& key) const;
  Reader object(const std::string& key) const;
  Reader required_object(const std::string& key) const;
  // An array of objects; absent is empty.
  std::vector<Reader> objects(const std::string& key) const;
  std::vector<std::string> strings(const std::string& key,
                                   std::vector<std::string> fallback = {}) const;
  std::map<std::string, std::string> string_map(const std::string& key) const;

  // Throws "<path>: unknown field" for a key that no read has asked for and `also_known` does not
  // list (call it after the reads, or first with the full list): typos are errors, not defaults.
  void reject_unknown(std::initializer_list<std::string_view> also_known = {}) const;

 private:
  // has(), remembering that `key` was asked about.
  bool given(const std::string& key) const;

  Poco::JSON::Object::Ptr object_;
  std::string path_;
  // Keys asked about so far; reads stay const for the callers, who see no state.
  mutable std::set<std::string> seen_;
};

// Parses `text` and runs `read(const Reader&)` on its top-level object: the usual entry point of a
// parser, where the Error a Reader or `read` throws becomes the Result.
template <typename Read>
auto read_object(std::string_view text, Read&& read)
    -> Result<std::invoke_result_t<Read&, const Reader&>> {
  try {
    return read(Reader(parse_object(text)));
  } catch (const Error& e) {
    return e;
  } catch (const std::exception& e) {
    // Never let a hostile document crash the process.
    return malformed_json(e.what());
  }
}

}  // namespace kiln::json
