// libFuzzer target: the Bitbucket push payload parser must never crash, hang or leak on any input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "webhook-ingest/push_event.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto push = kiln::webhook::parse_bitbucket_push(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (push.ok()) {
    // Touch what the service reads next, so a half-filled event is noticed by the sanitizers.
    for (const auto& event : *push) {
      volatile std::size_t n = event.ref.size() + event.after.size() + event.message.size();
      (void)n;
    }
  }
  return 0;
}
