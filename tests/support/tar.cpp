#include "support/tar.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace kiln::testing {

std::string tar_entry(const std::string& name, char type, const std::string& data,
                      const std::string& link) {
  std::string block(512, '\0');
  std::memcpy(&block[0], name.data(), std::min<size_t>(name.size(), 100));
  std::snprintf(&block[100], 8, "%07o", 0644);
  std::snprintf(&block[108], 8, "%07o", 0);
  std::snprintf(&block[116], 8, "%07o", 0);
  std::snprintf(&block[124], 12, "%011o", static_cast<unsigned>(data.size()));
  std::snprintf(&block[136], 12, "%011o", 0);
  block[156] = type;
  std::memcpy(&block[157], link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(&block[257], "ustar", 6);
  std::memcpy(&block[263], "00", 2);
  std::memset(&block[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : block) sum += c;
  std::snprintf(&block[148], 8, "%06o", sum);
  std::string padded = data;
  padded.resize((data.size() + 511) / 512 * 512, '\0');
  return block + padded;
}

}  // namespace kiln::testing
