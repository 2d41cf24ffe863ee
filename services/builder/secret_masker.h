// Replaces configured secret values in log lines with "***". Lines are masked whole before they
// are batched, so a value can never be split across two log messages unmasked. A multi-line
// value is masked line by line.
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

  SecretMasker() = default;
  explicit SecretMasker(const std::vector<std::string>& values);
  void add(std::string_view value);

  std::string mask(std::string_view line) const;
  bool empty() const { return needles_.empty(); }

 private:
  std::vector<std::string> needles_;  // longest first, so a value containing another wins
};

}  // namespace kiln::builder
