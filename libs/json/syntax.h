// Where JSON text stops being JSON. Poco's parser says what is wrong but not where.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kiln::json {

// The offset of the first byte that cannot continue `text` as JSON, text.size() when it ends too
// early, npos when the grammar allows all of it (a parser may still refuse a number out of range).
std::size_t syntax_error_offset(std::string_view text);

// "line 3, column 8" for an offset; columns count characters, not bytes.
std::string describe_offset(std::string_view text, std::size_t offset);

}  // namespace kiln::json
