// Small string helpers shared by the libraries, the services and the CLI.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kiln {

// Space and tab: what trim() removes unless told otherwise.
inline constexpr std::string_view kBlanks = " \t";
// What std::isspace accepts in the C locale.
inline constexpr std::string_view kWhitespace = " \t\n\v\f\r";

// `s` without the leading and trailing characters that are in `chars`.
std::string trim(std::string_view s, std::string_view chars = kBlanks);
// `s` without the leading characters that are in `chars`.
std::string trim_left(std::string_view s, std::string_view chars = kBlanks);
// `s` without the trailing characters that are in `chars`.
std::string trim_right(std::string_view s, std::string_view chars = kBlanks);

// What split_list does with the blanks (space, tab) around an item.
enum class ListItems {
  kTrimmed,    // trimmed off, so an item of blanks only is dropped
  kAsWritten,  // kept: "a, b" -> {"a", " b"}
};

// The items of a comma list, empty ones dropped: "a, b,,c" -> {"a", "b", "c"}.
std::vector<std::string> split_list(std::string_view text, ListItems items = ListItems::kTrimmed);

// `s` in lower case, byte by byte (std::tolower).
std::string to_lower(std::string_view s);

}  // namespace kiln
