#include "json/syntax.h"

#include <vector>

namespace kiln::json {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Each scan_ function starts at the first byte of its token and leaves `i` after it, or at the
// offending byte when it returns false.
bool scan_digits(std::string_view t, std::size_t& i) {
  if (i >= t.size() || !is_digit(t[i])) return false;
  while (i < t.size() && is_digit(t[i])) ++i;
  return true;
}

bool scan_number(std::string_view t, std::size_t& i) {
  if (t[i] == '-') ++i;
  if (i < t.size() && t[i] == '0') {
    ++i;
  } else if (!scan_digits(t, i)) {
    return false;
  }
  if (i < t.size() && t[i] == '.' && !scan_digits(t, ++i)) return false;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (!scan_digits(t, i)) return false;
  }
  return true;
}

bool scan_string(std::string_view t, std::size_t& i) {
  for (++i; i < t.size(); ++i) {
    const auto c = static_cast<unsigned char>(t[i]);
    if (c == '"') {
      ++i;
      return true;
    }
    if (c < 0x20) return false;
    if (c != '\\') continue;
    if (++i >= t.size()) return false;
    if (t[i] == 'u') {
      for (int k = 0; k < 4; ++k) {
        if (++i >= t.size() || !is_hex(t[i])) return false;
      }
    } else if (std::string_view("\"\\/bfnrt").find(t[i]) == std::string_view::npos) {
      return false;
    }
  }
  return false;
}

bool scan_literal(std::string_view t, std::size_t& i) {
  for (std::string_view word : {"true", "false", "null"}) {
    if (t[i] != word.front()) continue;
    for (char c : word) {
      if (i >= t.size() || t[i] != c) return false;
      ++i;
    }
    return true;
  }
  return false;
}

bool scan_scalar(std::string_view t, std::size_t& i) {
  if (t[i] == '"') return scan_string(t, i);
  if (t[i] == '-' || is_digit(t[i])) return scan_number(t, i);
  return scan_literal(t, i);
}

}  // namespace

std::size_t syntax_error_offset(std::string_view t) {
  // What may come next; the nesting is a stack, not recursion, so depth costs no native stack.
  enum class Want { kValue, kValueOrClose, kKey, kKeyOrClose, kColon, kCommaOrClose, kEnd };
  std::vector<char> open;
  Want want = Want::kValue;
  auto after_value = [&open] { return open.empty() ? Want::kEnd : Want::kCommaOrClose; };
  std::size_t i = 0;
  while (true) {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
    if (i == t.size()) return want == Want::kEnd ? std::string_view::npos : i;
    const char c = t[i];
    switch (want) {
      case Want::kValue:
      case Want::kValueOrClose:
        if (c == '[' || c == '{') {
          open.push_back(c);
          ++i;
          want = c == '[' ? Want::kValueOrClose : Want::kKeyOrClose;
        } else if (want == Want::kValueOrClose && c == ']') {
          open.pop_back();
          ++i;
          want = after_value();
        } else if (scan_scalar(t, i)) {
          want = after_value();
        } else {
          return i;
        }
        break;
      case Want::kKey:
      case Want::kKeyOrClose:
        if (want == Want::kKeyOrClose && c == '}') {
          open.pop_back();
          ++i;
          want = after_value();
        } else if (c == '"' && scan_string(t, i)) {
          want = Want::kColon;
        } else {
          return i;
        }
        break;
      case Want::kColon:
        if (c != ':') return i;
        ++i;
        want = Want::kValue;
        break;
      case Want::kCommaOrClose:
        if (c == ',') {
          ++i;
          want = open.back() == '{' ? Want::kKey : Want::kValue;
        } else if (c == (open.back() == '{' ? '}' : ']')) {
          open.pop_back();
          ++i;
          want = after_value();
        } else {
          return i;
        }
        break;
      case Want::kEnd:
        return i;
    }
  }
}

std::string describe_offset(std::string_view text, std::size_t offset) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++column;  // UTF-8 continuation bytes belong to the character before them
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace kiln::json
