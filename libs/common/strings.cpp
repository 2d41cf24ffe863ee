#include "common/strings.h"

#include <cctype>

namespace kiln {
namespace {

std::string_view without_leading(std::string_view s, std::string_view chars) {
  const auto begin = s.find_first_not_of(chars);
  return begin == std::string_view::npos ? std::string_view() : s.substr(begin);
}

std::string_view without_trailing(std::string_view s, std::string_view chars) {
  const auto end = s.find_last_not_of(chars);
  return end == std::string_view::npos ? std::string_view() : s.substr(0, end + 1);
}

}  // namespace

std::string trim(std::string_view s, std::string_view chars) {
  return std::string(without_trailing(without_leading(s, chars), chars));
}

std::string trim_left(std::string_view s, std::string_view chars) {
  return std::string(without_leading(s, chars));
}

std::string trim_right(std::string_view s, std::string_view chars) {
  return std::string(without_trailing(s, chars));
}

std::vector<std::string> split_list(std::string_view text, ListItems items) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (items == ListItems::kTrimmed) {
      item = without_trailing(without_leading(item, kBlanks), kBlanks);
    }
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace kiln
