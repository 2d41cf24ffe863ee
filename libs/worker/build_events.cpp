#include "worker/build_events.h"

#include <algorithm>
#include <utility>

#include "bus/consumer.h"
#include "bus/topology.h"
#include "events/envelope.h"
#include "events/subjects.h"

namespace kiln::worker {

namespace v1 = events::v1;

Result<std::optional<v1::Envelope>> stored_event(bus::Bus& bus, const std::string& type,
                                                 const std::string& build_id) {
  auto last = bus::last_message(bus, bus::kEventsStream, events::build_subject(type, build_id));
  if (!last.ok()) return last.error();
  if (!last->has_value()) return std::optional<v1::Envelope>{};
  auto decoded = events::decode((*last)->data());
  if (!decoded.ok()) return std::optional<v1::Envelope>{v1::Envelope{}};
  return std::optional<v1::Envelope>{std::move(decoded.value())};
}

Result<std::int32_t> highest_dispatched_attempt(bus::Bus& bus, const std::string& build_id) {
  const std::string subject = events::build_subject("dispatched", build_id);
  auto last = bus::last_message(bus, bus::kEventsStream, subject);
  if (!last.ok()) return last.error();
  if (!last->has_value()) return 0;
  const std::uint64_t last_sequence = (*last)->stream_sequence();
  auto reader =
      bus::SubjectReader::open(bus, bus::kEventsStream, subject, bus::SubjectReader::Start::kAll);
  if (!reader.ok()) return reader.error();
  std::int32_t highest = 0;
  while (true) {
    auto next = (*reader)->next(5000);
    if (!next.ok()) return next.error();
    if (!next->has_value()) {
      return make_error(ErrorCode::kUnavailable, "reading " + subject + " timed out");
    }
    if (auto decoded = events::decode((**next).data()); decoded.ok()) {
      highest = std::max(highest, decoded->dispatched().attempt());
    }
    if ((**next).stream_sequence() >= last_sequence) return highest;
  }
}

Result<bool> has_event(bus::Bus& bus, const std::string& type, const std::string& build_id) {
  auto last = bus::last_message(bus, bus::kEventsStream, events::build_subject(type, build_id));
  if (!last.ok()) return last.error();
  return last->has_value();
}

}  // namespace kiln::worker
