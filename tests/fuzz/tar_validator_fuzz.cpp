// libFuzzer target: the streaming tar/tar.gz checker must never crash on any upload, whatever
// way the bytes are split into reads.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tar_validator.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte chooses the read size, as a network stream splits arbitrarily.
  const std::size_t piece = 1 + data[0] % 97;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  kiln::webhook::TarValidator tar;
  for (std::size_t i = 0; i < bytes.size(); i += piece) {
    if (!tar.feed(bytes.substr(i, piece)).ok()) return 0;
  }
  (void)tar.finish();
  return 0;
}
