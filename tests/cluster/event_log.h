// KILN_EVENTS as the multi-host test reads it: every stored build event with its stream sequence,
// read whole or not at all (a read cut short by a node's death must not pass for the log).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "events/envelope.h"

namespace kiln::cluster {

namespace v1 = ::kiln::events::v1;

struct EventLog {
  std::map<std::uint64_t, v1::Envelope> by_sequence;

  // The build's events of `type`, in log order.
  std::vector<const v1::Envelope*> of(const std::string& build_id, const std::string& type) const;
  // The builds that have an event of one of `types`.
  std::set<std::string> builds_with(const std::set<std::string>& types) const;
  // The worker that started the build's `attempt`; empty when none did.
  std::string worker_of(const std::string& build_id, int attempt) const;
};

// Every event up to the stream's last sequence at the time of the call; nullopt when the stream
// could not be read to that point (a node dying under the reader).
std::optional<EventLog> read_event_log(bus::Bus& bus);

}  // namespace kiln::cluster
