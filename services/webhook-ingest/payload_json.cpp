#include "webhook-ingest/payload_json.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>

namespace kiln::webhook::json {

Error missing_field(const std::string& path) {
  return make_error(ErrorCode::kInvalidArgument, path + ": is required", "missing_field");
}

Error invalid_field(const std::string& path, const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, path + ": " + message, "invalid_field");
}

Error malformed_json(const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, "malformed JSON: " + message, "malformed_json");
}

Object::Ptr parse_object(std::string_view body) {
  Poco::Dynamic::Var root;
  try {
    Poco::JSON::Parser parser;
    root = parser.parse(std::string(body));
  } catch (const Poco::Exception& e) {
    throw malformed_json(e.displayText());
  } catch (const std::exception& e) {
    throw malformed_json(e.what());
  }
  if (root.type() != typeid(Object::Ptr)) throw malformed_json("the payload is not a JSON object");
  Object::Ptr object = root.extract<Object::Ptr>();
  if (object.isNull()) throw malformed_json("the payload is not a JSON object");
  return object;
}

std::string Node::path_of(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

bool Node::has(const std::string& key) const {
  return !object_.isNull() && object_->has(key) && !object_->isNull(key);
}

std::string Node::string(const std::string& key) const {
  if (!has(key)) return {};
  const Poco::Dynamic::Var v = object_->get(key);
  if (!v.isString()) throw invalid_field(path_of(key), "must be a string");
  return v.convert<std::string>();
}

std::string Node::required_string(const std::string& key) const {
  if (!has(key)) throw missing_field(path_of(key));
  return string(key);
}

bool Node::boolean(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const Poco::Dynamic::Var v = object_->get(key);
  if (!v.isBoolean()) throw invalid_field(path_of(key), "must be true or false");
  return v.convert<bool>();
}

long long Node::integer(const std::string& key, long long fallback) const {
  if (!has(key)) return fallback;
  const Poco::Dynamic::Var v = object_->get(key);
  if (!v.isInteger()) throw invalid_field(path_of(key), "must be an integer");
  return v.convert<long long>();
}

Node Node::object(const std::string& key) const {
  if (!has(key)) return Node(nullptr, path_of(key));
  Object::Ptr child = object_->getObject(key);
  if (child.isNull()) throw invalid_field(path_of(key), "must be an object");
  return Node(child, path_of(key));
}

Node Node::required_object(const std::string& key) const {
  if (!has(key)) throw missing_field(path_of(key));
  return object(key);
}

std::vector<Node> Node::objects(const std::string& key) const {
  std::vector<Node> out;
  if (!has(key)) return out;
  Array::Ptr array = object_->getArray(key);
  if (array.isNull()) throw invalid_field(path_of(key), "must be an array");
  for (unsigned i = 0; i < array->size(); ++i) {
    const std::string path = path_of(key) + "[" + std::to_string(i) + "]";
    Object::Ptr child = array->getObject(i);
    if (child.isNull()) throw invalid_field(path, "must be an object");
    out.emplace_back(child, path);
  }
  return out;
}

std::vector<std::string> Node::strings(const std::string& key) const {
  std::vector<std::string> out;
  if (!has(key)) return out;
  Array::Ptr array = object_->getArray(key);
  if (array.isNull()) throw invalid_field(path_of(key), "must be an array of strings");
  for (unsigned i = 0; i < array->size(); ++i) {
    const Poco::Dynamic::Var v = array->get(i);
    if (!v.isString()) {
      throw invalid_field(path_of(key) + "[" + std::to_string(i) + "]", "must be a string");
    }
    out.push_back(v.convert<std::string>());
  }
  return out;
}

std::map<std::string, std::string> Node::string_map(const std::string& key) const {
  std::map<std::string, std::string> out;
  if (!has(key)) return out;
  Object::Ptr child = object_->getObject(key);
  if (child.isNull()) throw invalid_field(path_of(key), "must be an object of strings");
  for (const auto& name : child->getNames()) {
    const Poco::Dynamic::Var v = child->get(name);
    if (!v.isString()) throw invalid_field(path_of(key) + "." + name, "must be a string");
    out[name] = v.convert<std::string>();
  }
  return out;
}

void Node::reject_unknown(const std::set<std::string>& known) const {
  if (object_.isNull()) return;
  for (const auto& name : object_->getNames()) {
    if (!known.count(name)) throw invalid_field(path_of(name), "unknown field");
  }
}

}  // namespace kiln::webhook::json
