// Publishing the builder's events: one envelope per fact, Nats-Msg-Id from the build, type and
// attempt (plus the step number for step events), so a retried publish is stored once.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "bus/bus.h"
#include "kiln/events/v1/events.pb.h"

namespace kiln::builder {

inline constexpr std::chrono::milliseconds kPublishWindow{15000};

class EventOut {
 public:
  EventOut(bus::Bus& bus, std::string producer, std::string build_id, int attempt)
      : bus_(bus),
        producer_(std::move(producer)),
        build_id_(std::move(build_id)),
        attempt_(attempt) {}

  // A new envelope for this build and attempt; set the payload and pass it to publish().
  events::v1::Envelope envelope() const;
  // `msg_id_suffix` distinguishes events of one type within an attempt (step numbers). A
  // publish that fails as a JetStream fail-over makes it fail is tried again for kPublishWindow.
  Result<bus::PublishAck> publish(events::v1::Envelope& envelope,
                                  const std::string& msg_id_suffix = {},
                                  std::optional<std::uint64_t> expected_last_subject_seq = {});

  const std::string& build_id() const { return build_id_; }
  int attempt() const { return attempt_; }
  bus::Bus& bus() { return bus_; }

 private:
  bus::Bus& bus_;
  std::string producer_;
  std::string build_id_;
  int attempt_;
};

}  // namespace kiln::builder
