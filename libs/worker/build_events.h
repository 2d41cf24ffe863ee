// What the event log already holds for a build: the checks a worker makes before it takes a job
// (has the build ended? was a cancel requested? which attempt was dispatched last?). Errors are
// kiln::Result errors from libs/bus (the log could not be read); the caller hands the message
// back for a retry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "bus/bus.h"
#include "common/result.h"
#include "kiln/events/v1/events.pb.h"

namespace kiln::worker {

// The last event of `type` (a subject token: "built", "cancel_requested"...) stored for the
// build, or nullopt when there is none. A stored event that cannot be decoded is returned as an
// empty Envelope: that it exists is still a fact, and callers check the payload they need.
Result<std::optional<events::v1::Envelope>> stored_event(bus::Bus& bus, const std::string& type,
                                                         const std::string& build_id);

// The highest attempt among the build's stored `dispatched` events (0: none). Not the last one
// stored: a late copy of an earlier dispatch may be stored after a later one.
Result<std::int32_t> highest_dispatched_attempt(bus::Bus& bus, const std::string& build_id);

// Whether an event of `type` is stored for the build.
Result<bool> has_event(bus::Bus& bus, const std::string& type, const std::string& build_id);

}  // namespace kiln::worker
