// Typed reads from a webhook's JSON payload that name the offending field on failure. Used only
// inside the provider parsers: they throw kiln::Error and the parser turns it into a Result.
#pragma once

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kiln::webhook::json {

using Poco::JSON::Array;
using Poco::JSON::Object;

// The payload's top-level object; throws malformed_json when it is not JSON or not an object.
Object::Ptr parse_object(std::string_view body);

// A JSON object together with its path from the payload root ("head_commit.author").
class Node {
 public:
  Node(Object::Ptr object, std::string path) : object_(std::move(object)), path_(std::move(path)) {}

  bool present() const { return !object_.isNull(); }
  std::string path_of(const std::string& key) const;

  // Absent or null values give "" / an absent node; a value of the wrong type always throws.
  std::string string(const std::string& key) const;
  std::string required_string(const std::string& key) const;
  bool boolean(const std::string& key, bool fallback) const;
  long long integer(const std::string& key, long long fallback) const;
  Node object(const std::string& key) const;
  Node required_object(const std::string& key) const;
  // Objects of an array; an absent array is empty.
  std::vector<Node> objects(const std::string& key) const;
  std::vector<std::string> strings(const std::string& key) const;
  std::map<std::string, std::string> string_map(const std::string& key) const;
  bool has(const std::string& key) const;
  // Throws "<path>: unknown field" for a key not in `known` (typos in API requests).
  void reject_unknown(const std::set<std::string>& known) const;

 private:
  Object::Ptr object_;
  std::string path_;
};

Error missing_field(const std::string& path);
Error invalid_field(const std::string& path, const std::string& message);
Error malformed_json(const std::string& message);

}  // namespace kiln::webhook::json
