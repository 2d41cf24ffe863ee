// Replaces configured secret values in log lines with "***". Lines are masked whole before they
// are batched, so a value can never be split across two log messages unmasked. Beyond the exact
// value it masks what a step can easily turn a secret into on its way to the log:
//   * its base64 encoding (standard and URL-safe) wherever the value sat in the encoded bytes
//     (the three alignments of a value inside a longer input);
//   * its percent-encoding (a value in a URL or a form), with upper- or lower-case hex;
//   * a value printed across lines (`fold`, a multi-line value): a whole line that is a piece of
//     a value, the end of a line that begins a value and the start of a line that ends one
//     (pieces of at least kMinPieceLength, so ordinary words at line edges stay).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kiln::builder {

class SecretMasker {
 public:
  // Values shorter than kMinLength are not masked (they would blank ordinary words); the
  // service warns about them at start-up.
  static constexpr std::size_t kMinLength = 4;
  static constexpr std::size_t kMinPieceLength = 6;

  SecretMasker() = default;
  explicit SecretMasker(const std::vector<std::string>& values);
  void add(std::string_view value);

  std::string mask(std::string_view line) const;
  bool empty() const { return needles_.empty(); }

 private:
  void add_needle(std::string needle);
  std::string mask_pieces(std::string line) const;

  std::vector<std::string> needles_;  // longest first, so a value containing another wins
  std::vector<std::string> values_;   // the value lines themselves, for pieces
};

}  // namespace kiln::builder
