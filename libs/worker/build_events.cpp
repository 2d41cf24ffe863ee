#include "worker/build_events.h"

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

Result<bool> has_event(bus::Bus& bus, const std::string& type, const std::string& build_id) {
  auto last = bus::last_message(bus, bus::kEventsStream, events::build_subject(type, build_id));
  if (!last.ok()) return last.error();
  return last->has_value();
}

}  // namespace kiln::worker
