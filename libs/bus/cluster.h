// Stream leadership on a NATS cluster: which server leads a stream, and handing leadership to
// another server (what an operator does before taking a node down; the cluster tests use it to
// race kiln's fences across a leader change). Same error convention as bus.h.
#pragma once

#include <string>

#include "bus/bus.h"

namespace kiln::bus {

// The server name of the stream's leader; empty on a single server (no cluster).
Result<std::string> stream_leader(Bus& bus, const std::string& stream);

// Asks the stream's leader to step down; the other replicas elect a new one.
Status step_down_stream_leader(Bus& bus, const std::string& stream);

}  // namespace kiln::bus
