// Compact JSON built field by field, instead of concatenated strings: keys and strings are
// escaped, commas placed, nothing else added. Fields appear in the order they are added.
//
//   json::Object().add("build_id", id).add("duplicate", false).add("links", json::Raw{links}).str()
//
// Writing cannot fail, so there is no Result here.
#pragma once

#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>

namespace kiln::json {

class Object;
class Array;

// Text that is already JSON (a nested document, a row PostgreSQL encoded), added as it is.
struct Raw {
  std::string_view json;
};

// One encoded value; built implicitly from what Object::add and Array::add accept.
class Value {
 public:
  Value(std::string_view text);                                      // NOLINT: implicit by design
  Value(const std::string& text) : Value(std::string_view(text)) {}  // NOLINT
  Value(const char* text) : Value(std::string_view(text)) {}         // NOLINT
  Value(bool b) : json_(b ? "true" : "false") {}                     // NOLINT
  Value(std::nullptr_t) : json_("null") {}                           // NOLINT
  template <std::integral T>
  requires(!std::same_as<T, bool> && !std::same_as<T, char>) Value(T n)
      : json_(std::to_string(n)) {}    // NOLINT
  Value(const Object& object);         // NOLINT
  Value(const Array& array);           // NOLINT
  Value(Raw raw) : json_(raw.json) {}  // NOLINT
  // Without these a double or a char would silently become `true` or a number.
  template <std::floating_point T>
  Value(T) = delete;
  Value(char) = delete;

  const std::string& json() const { return json_; }

 private:
  std::string json_;
};

class Object {
 public:
  Object& add(std::string_view key, const Value& value);
  std::string str() const { return text_ + "}"; }

 private:
  std::string text_ = "{";
};

class Array {
 public:
  Array& add(const Value& value);
  bool empty() const { return text_.size() == 1; }
  std::string str() const { return text_ + "]"; }

 private:
  std::string text_ = "[";
};

// `text` as a JSON string, quotes included.
std::string quote(std::string_view text);

}  // namespace kiln::json
