// The opaque cursor of GET /v1/builds keyset pagination: the (requested_at, build_id) of the last
// row of a page, base64url-encoded. Rows are ordered by that pair descending, so the next page is
// everything strictly below it: a build added meanwhile is newer and never shifts a page.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace kiln::analytics {

struct BuildCursor {
  std::int64_t requested_at_ms = 0;
  std::string build_id;
  bool operator==(const BuildCursor&) const = default;
};

std::string encode_cursor(const BuildCursor& cursor);
// nullopt for anything encode_cursor did not produce.
std::optional<BuildCursor> decode_cursor(const std::string& text);

}  // namespace kiln::analytics
