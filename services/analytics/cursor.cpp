#include "analytics/cursor.h"

#include <array>

namespace kiln::analytics {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char kVersion = '1';  // lets the format change without misreading old cursors

std::string base64url(const std::string& in) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 0x3f];
  return out;
}

std::optional<std::string> unbase64url(const std::string& in) {
  std::array<int, 256> value{};
  value.fill(-1);
  for (int i = 0; i < 64; ++i) value[static_cast<unsigned char>(kAlphabet[i])] = i;
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : in) {
    if (value[c] < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value[c]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

}  // namespace

std::string encode_cursor(const BuildCursor& cursor) {
  return base64url(std::string(1, kVersion) + std::to_string(cursor.requested_at_ms) + "|" +
                   cursor.build_id);
}

std::optional<BuildCursor> decode_cursor(const std::string& text) {
  if (text.empty() || text.size() > 400) return std::nullopt;
  auto raw = unbase64url(text);
  if (!raw || raw->size() < 3 || (*raw)[0] != kVersion) return std::nullopt;
  const auto bar = raw->find('|');
  if (bar == std::string::npos || bar == 1 || bar + 1 >= raw->size()) return std::nullopt;
  BuildCursor cursor;
  const std::string ms = raw->substr(1, bar - 1);
  for (char c : ms) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  if (ms.size() > 18) return std::nullopt;
  cursor.requested_at_ms = std::stoll(ms);
  cursor.build_id = raw->substr(bar + 1);
  return cursor;
}

}  // namespace kiln::analytics
