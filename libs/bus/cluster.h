// Stream leadership on a NATS cluster: which server leads a stream, and handing leadership to
// another server (what an operator does before taking a node down; the cluster tests use it to
// race kiln's fences across a leader change). Same error convention as bus.h.
#pragma once

#include <string>

#include "bus/bus.h"

namespace kiln::bus {

// The server name of the stream's leader; empty on a single server (no cluster).
Result<std::string> stream_leader(Bus& bus, const std::string& stream);

// What keeps the stream from being whole: "no leader", or the replicas that are offline or not
// current (caught up with the leader), e.g. "n2 offline, n3 behind by 12". Empty when the stream
// has a leader and every replica is current (always on a single server): after a node's
// restart, what "the stream is whole again" means.
Result<std::string> stream_replicas_missing(Bus& bus, const std::string& stream);

// Asks the stream's leader to step down; the other replicas elect a new one.
Status step_down_stream_leader(Bus& bus, const std::string& stream);

}  // namespace kiln::bus
