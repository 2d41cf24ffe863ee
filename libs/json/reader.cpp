#include "json/reader.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>

#include "json/syntax.h"

namespace kiln::json {

using Poco::Dynamic::Var;

namespace {

Error not_an_object() { return malformed_json("the top level is not an object"); }

}  // namespace

Error malformed_json(const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, "malformed JSON: " + message, "malformed_json");
}

Error missing_field(const std::string& path) {
  return make_error(ErrorCode::kInvalidArgument, path + ": is required", "missing_field");
}

Error invalid_field(const std::string& path, const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, path + ": " + message, "invalid_field");
}

Poco::JSON::Object::Ptr parse_object(std::string_view text) {
  Var root;
  try {
    Poco::JSON::Parser parser;
    root = parser.parse(std::string(text));
  } catch (const Poco::Exception& e) {
    const std::size_t at = syntax_error_offset(text);
    if (at == std::string_view::npos) {
      // Poco refuses a lone scalar with an internal message.
      const std::size_t first = text.find_first_not_of(" \t\r\n");
      if (text[first] != '{' && text[first] != '[') throw not_an_object();
      throw malformed_json(e.message());
    }
    // At the end, Poco names whatever byte it read past the text; the end is what is wrong.
    throw malformed_json(describe_offset(text, at) + ": " +
                         (at == text.size() ? "unexpected end of text" : e.message()));
  } catch (const std::exception& e) {
    throw malformed_json(e.what());
  }
  if (root.type() != typeid(Poco::JSON::Object::Ptr)) throw not_an_object();
  auto object = root.extract<Poco::JSON::Object::Ptr>();
  if (object.isNull()) throw not_an_object();
  return object;
}

std::string Reader::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

bool Reader::has(const std::string& key) const {
  return present() && object_->has(key) && !object_->isNull(key);
}

bool Reader::given(const std::string& key) const {
  seen_.insert(key);
  return has(key);
}

std::string Reader::string(const std::string& key, std::string fallback) const {
  if (!given(key)) return fallback;
  const Var v = object_->get(key);
  if (!v.isString()) throw invalid_field(path_of(key), "must be a string");
  return v.convert<std::string>();
}

std::string Reader::required_string(const std::string& key) const {
  if (!given(key)) throw missing_field(path_of(key));
  return string(key);
}

bool Reader::boolean(const std::string& key, bool fallback) const {
  if (!given(key)) return fallback;
  const Var v = object_->get(key);
  if (!v.isBoolean()) throw invalid_field(path_of(key), "must be true or false");
  return v.convert<bool>();
}

bool Reader::required_boolean(const std::string& key) const {
  if (!given(key)) throw missing_field(path_of(key));
  return boolean(key, false);
}

long long Reader::integer(const std::string& key, long long fallback) const {
  if (!given(key)) return fallback;
  const Var v = object_->get(key);
  if (!v.isInteger()) throw invalid_field(path_of(key), "must be an integer");
  try {
    return v.convert<long long>();
  } catch (const Poco::Exception&) {
    // An unsigned 64-bit value above the signed range.
    throw invalid_field(path_of(key), "is out of range");
  }
}

long long Reader::integer(const std::string& key, long long fallback, long long min,
                          long long max) const {
  const long long n = integer(key, fallback);
  if (n < min || n > max) {
    throw invalid_field(path_of(key),
                        "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return n;
}

long long Reader::required_integer(const std::string& key) const {
  if (!given(key)) throw missing_field(path_of(key));
  return integer(key, 0);
}

Reader Reader::object(const std::string& key) const {
  if (!given(key)) return Reader(nullptr, path_of(key));
  Poco::JSON::Object::Ptr child = object_->getObject(key);
  if (child.isNull()) throw invalid_field(path_of(key), "must be an object");
  return Reader(child, path_of(key));
}

Reader Reader::required_object(const std::string& key) const {
  if (!given(key)) throw missing_field(path_of(key));
  return object(key);
}

std::vector<Reader> Reader::objects(const std::string& key) const {
  std::vector<Reader> out;
  if (!given(key)) return out;
  Poco::JSON::Array::Ptr array = object_->getArray(key);
  if (array.isNull()) throw invalid_field(path_of(key), "must be an array");
  for (unsigned i = 0; i < array->size(); ++i) {
    std::string path = path_of(key) + "[" + std::to_string(i) + "]";
    Poco::JSON::Object::Ptr child = array->getObject(i);
    if (child.isNull()) throw invalid_field(path, "must be an object");
    out.emplace_back(child, std::move(path));
  }
  return out;
}

std::vector<std::string> Reader::strings(const std::string& key,
                                         std::vector<std::string> fallback) const {
  if (!given(key)) return fallback;
  Poco::JSON::Array::Ptr array = object_->getArray(key);
  if (array.isNull()) throw invalid_field(path_of(key), "must be an array of strings");
  std::vector<std::string> out;
  for (unsigned i = 0; i < array->size(); ++i) {
    const Var v = array->get(i);
    if (!v.isString()) {
      throw invalid_field(path_of(key) + "[" + std::to_string(i) + "]", "must be a string");
    }
    out.push_back(v.convert<std::string>());
  }
  return out;
}

std::map<std::string, std::string> Reader::string_map(const std::string& key) const {
  std::map<std::string, std::string> out;
  if (!given(key)) return out;
  Poco::JSON::Object::Ptr child = object_->getObject(key);
  if (child.isNull()) throw invalid_field(path_of(key), "must be an object of strings");
  for (const auto& name : child->getNames()) {
    const Var v = child->get(name);
    if (!v.isString()) throw invalid_field(path_of(key) + "." + name, "must be a string");
    out[name] = v.convert<std::string>();
  }
  return out;
}

void Reader::reject_unknown(std::initializer_list<std::string_view> also_known) const {
  if (!present()) return;
  for (const auto& name : object_->getNames()) {
    if (seen_.count(name) == 0 &&
        std::find(also_known.begin(), also_known.end(), name) == also_known.end()) {
      throw invalid_field(path_of(name), "unknown field");
    }
  }
}

}  // namespace kiln::json
