// libFuzzer target: the gitea push payload parser must never crash, hang or leak on any input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "webhook-ingest/push_event.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto push =
      kiln::webhook::parse_gitea_push(std::string_view(reinterpret_cast<const char*>(data), size));
  if (push.ok()) {
    // Touch what the service reads next, so a half-filled event is noticed by the sanitizers.
    volatile std::size_t n = push->ref.size() + push->changed_paths.size() + push->message.size();
    (void)n;
  }
  return 0;
}
