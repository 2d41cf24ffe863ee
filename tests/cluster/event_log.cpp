#include "cluster/event_log.h"

#include "bus/consumer.h"
#include "bus/topology.h"

namespace kiln::cluster {

std::vector<const v1::Envelope*> EventLog::of(const std::string& build_id,
                                              const std::string& type) const {
  std::vector<const v1::Envelope*> out;
  for (const auto& [sequence, event] : by_sequence) {
    if (event.build_id() == build_id && event.type() == type) out.push_back(&event);
  }
  return out;
}

std::set<std::string> EventLog::builds_with(const std::set<std::string>& types) const {
  std::set<std::string> out;
  for (const auto& [sequence, event] : by_sequence) {
    if (types.contains(event.type())) out.insert(event.build_id());
  }
  return out;
}

std::string EventLog::worker_of(const std::string& build_id, int attempt) const {
  for (const auto* started : of(build_id, "started")) {
    if (started->started().attempt() == attempt) return started->started().worker_id();
  }
  return "";
}

std::optional<EventLog> read_event_log(bus::Bus& bus) {
  auto last = bus::last_stream_sequence(bus, bus::kEventsStream);
  if (!last.ok()) return std::nullopt;
  EventLog log;
  if (*last == 0) return log;
  auto reader = bus::SubjectReader::open(bus, bus::kEventsStream, "kiln.build.>",
                                         bus::SubjectReader::Start::kAll);
  if (!reader.ok()) return std::nullopt;
  std::uint64_t seen = 0;
  while (seen < *last) {
    auto next = (*reader)->next(5000);
    if (!next.ok() || !next->has_value()) return std::nullopt;
    seen = (*next)->stream_sequence();
    auto decoded = events::decode((*next)->data());
    if (decoded.ok()) log.by_sequence[seen] = *decoded;
  }
  return log;
}

}  // namespace kiln::cluster
