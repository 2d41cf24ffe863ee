#include "webhook-ingest/signature.h"

#include <string>

#include "common/ids.h"

namespace kiln::webhook {
namespace {

constexpr std::size_t kSha256HexSize = 64;

// Lower-cases a hex digest; empty when it is not exactly 64 hex digits.
std::string normalize_hex(std::string_view hex) {
  if (hex.size() != kSha256HexSize) return {};
  std::string out(hex);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
  }
  return out;
}

}  // namespace

bool verify_gitea_signature(std::string_view secret, std::string_view header,
                            std::string_view body) {
  if (secret.empty()) return false;
  const std::string given = normalize_hex(header);
  if (given.empty()) return false;
  return constant_time_equals(hmac_sha256_hex(secret, body), given);
}

bool verify_github_signature(std::string_view secret, std::string_view header,
                             std::string_view body) {
  constexpr std::string_view kPrefix = "sha256=";
  if (header.substr(0, kPrefix.size()) != kPrefix) return false;
  return verify_gitea_signature(secret, header.substr(kPrefix.size()), body);
}

bool verify_gitlab_token(std::string_view secret, std::string_view header) {
  if (secret.empty()) return false;
  return constant_time_equals(secret, header);
}

}  // namespace kiln::webhook
