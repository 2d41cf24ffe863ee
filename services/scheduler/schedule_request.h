// The `requested` event of a cron tick. The build id is stable_id("schedule:<id>:<fire ms>") and
// the Nats-Msg-Id schedule_msg_id(id, fire ms), so every replica firing the same tick publishes
// the same event and the stream keeps one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kiln/events/v1/events.pb.h"
#include "scheduler/schedule_book.h"

namespace kiln::scheduler {

namespace v1 = ::kiln::events::v1;

struct ScheduledRequest {
  v1::Envelope envelope;
  std::string subject;
  std::string data;
  std::string msg_id;
};

ScheduledRequest make_scheduled_request(const Fire& fire, const std::string& default_registry,
                                        std::string_view producer, std::int64_t now_ms);

std::string scheduled_build_id(const std::string& schedule_id, std::int64_t fire_ms);

}  // namespace kiln::scheduler
