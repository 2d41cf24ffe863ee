#include "json/writer.h"

#include "common/log.h"

namespace kiln::json {

// One escaping for the whole codebase: the log writer's, which libs/common cannot take from here.
std::string quote(std::string_view text) { return "\"" + log::json_escape(text) + "\""; }

Value::Value(std::string_view text) : json_(quote(text)) {}
Value::Value(const Object& object) : json_(object.str()) {}
Value::Value(const Array& array) : json_(array.str()) {}

Object& Object::add(std::string_view key, const Value& value) {
  if (text_.size() > 1) text_ += ',';
  text_ += quote(key);
  text_ += ':';
  text_ += value.json();
  return *this;
}

Array& Array::add(const Value& value) {
  if (!empty()) text_ += ',';
  text_ += value.json();
  return *this;
}

}  // namespace kiln::json
