// libFuzzer target: the upload check (libs/archive over libarchive) must never crash on any
// upload, whatever way the bytes are split into reads, and must stay within its limits.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "archive/context_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte chooses the read size, as a network stream splits arbitrarily.
  const std::size_t piece = 1 + data[0] % 97;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::size_t at = 0;
  kiln::archive::ContextLimits limits;
  limits.max_entries = 1000;
  limits.max_unpacked_bytes = 64 << 20;
  (void)kiln::archive::check_context(
      [&]() -> kiln::Result<std::string_view> {
        const auto next = bytes.substr(at < bytes.size() ? at : bytes.size(), piece);
        at += next.size();
        return next;
      },
      limits);
  return 0;
}
