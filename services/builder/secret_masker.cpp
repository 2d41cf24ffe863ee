#include "builder/secret_masker.h"

#include <algorithm>

namespace kiln::builder {

SecretMasker::SecretMasker(const std::vector<std::string>& values) {
  for (const auto& value : values) add(value);
}

void SecretMasker::add(std::string_view value) {
  std::size_t start = 0;
  while (start <= value.size()) {
    auto nl = value.find('\n', start);
    if (nl == std::string_view::npos) nl = value.size();
    std::string_view part = value.substr(start, nl - start);
    if (!part.empty() && part.back() == '\r') part.remove_suffix(1);
    if (part.size() >= kMinLength &&
        std::find(needles_.begin(), needles_.end(), part) == needles_.end()) {
      needles_.emplace_back(part);
    }
    start = nl + 1;
  }
  std::sort(needles_.begin(), needles_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string SecretMasker::mask(std::string_view line) const {
  std::string out(line);
  for (const auto& needle : needles_) {
    for (auto pos = out.find(needle); pos != std::string::npos; pos = out.find(needle, pos + 3)) {
      out.replace(pos, needle.size(), "***");
    }
  }
  return out;
}

}  // namespace kiln::builder
