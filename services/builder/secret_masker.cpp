#include "builder/secret_masker.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace kiln::builder {
namespace {

constexpr char kMask[] = "***";

// The base64 characters that depend only on `data` when it starts a 3-byte group: the full
// groups, without the padded tail (whose characters depend on what follows).
std::string aligned_base64(std::string_view data) {
  const std::size_t groups = data.size() / 3;
  if (groups == 0) return {};
  std::string out(groups * 4 + 1, '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                  reinterpret_cast<const unsigned char*>(data.data()),
                  static_cast<int>(groups * 3));
  out.resize(groups * 4);
  return out;
}

std::string url_safe(std::string text) {
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return text;
}

// The value as a URL or a form carries it (RFC 3986: everything but unreserved characters as
// %XX), in `hex_digits`' case; empty when that is the value itself.
std::string percent_encoded(std::string_view value, const char* hex_digits) {
  std::string out;
  bool changed = false;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex_digits[c >> 4];
      out += hex_digits[c & 15];
      changed = true;
    }
  }
  return changed ? out : std::string();
}

}  // namespace

SecretMasker::SecretMasker(const std::vector<std::string>& values) {
  for (const auto& value : values) add(value);
}

void SecretMasker::add_needle(std::string needle) {
  if (needle.size() < kMinLength) return;
  if (std::find(needles_.begin(), needles_.end(), needle) != needles_.end()) return;
  needles_.push_back(std::move(needle));
}

void SecretMasker::add(std::string_view value) {
  std::size_t start = 0;
  while (start <= value.size()) {
    auto nl = value.find('\n', start);
    if (nl == std::string_view::npos) nl = value.size();
    std::string_view part = value.substr(start, nl - start);
    if (!part.empty() && part.back() == '\r') part.remove_suffix(1);
    if (part.size() >= kMinLength) {
      add_needle(std::string(part));
      values_.emplace_back(part);
    }
    start = nl + 1;
  }
  // The encoded value, in each of the three positions it can take inside encoded bytes; a value
  // that ends a file or an echo (with a newline) is covered by the same aligned prefix.
  if (value.size() >= kMinLength) {
    for (std::size_t skip = 0; skip < 3 && skip < value.size(); ++skip) {
      const std::string encoded = aligned_base64(value.substr(skip));
      if (encoded.size() < 8) continue;  // too short to tell from ordinary text
      add_needle(encoded);
      add_needle(url_safe(encoded));
    }
    add_needle(percent_encoded(value, "0123456789ABCDEF"));
    add_needle(percent_encoded(value, "0123456789abcdef"));
  }
  std::sort(needles_.begin(), needles_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string SecretMasker::mask_pieces(std::string line) const {
  for (const auto& value : values_) {
    if (line.size() >= kMinLength && line.size() < value.size() &&
        value.find(line) != std::string::npos) {
      return kMask;  // the whole line is a piece of the value
    }
    // The line ends with the value's beginning: the rest is on the next line.
    for (std::size_t n = std::min(line.size(), value.size() - 1); n >= kMinPieceLength; --n) {
      if (line.compare(line.size() - n, n, value, 0, n) == 0) {
        line.replace(line.size() - n, n, kMask);
        break;
      }
    }
    // The line starts with the value's end: its beginning was on the previous line.
    for (std::size_t n = std::min(line.size(), value.size() - 1); n >= kMinPieceLength; --n) {
      if (line.compare(0, n, value, value.size() - n, n) == 0) {
        line.replace(0, n, kMask);
        break;
      }
    }
  }
  return line;
}

std::string SecretMasker::mask(std::string_view line) const {
  std::string out(line);
  for (const auto& needle : needles_) {
    for (auto pos = out.find(needle); pos != std::string::npos; pos = out.find(needle, pos + 3)) {
      out.replace(pos, needle.size(), kMask);
    }
  }
  return mask_pieces(std::move(out));
}

}  // namespace kiln::builder
