// Publishes the events webhook-ingest owns (`requested`, `cancel_requested`) and waits for the
// JetStream ack within the configured timeout: a request is answered 2xx only once its event is
// stored. Failures are counted in kiln_webhook_publish_failures_total.
#pragma once

#include <cstdint>
#include <string>

#include "bus/bus.h"
#include "events/envelope.h"
#include "http/metrics.h"

namespace kiln::webhook {

struct Published {
  std::string build_id;
  bool duplicate = false;  // JetStream already had this Nats-Msg-Id: an earlier request won
  std::uint64_t sequence = 0;
};

class EventPublisher {
 public:
  EventPublisher(bus::Bus& bus, http::Metrics& metrics, std::string producer, int timeout_ms)
      : bus_(bus), metrics_(metrics), producer_(std::move(producer)), timeout_ms_(timeout_ms) {}

  // `msg_id` empty: the pipeline default event_msg_id(build, type, 0).
  Result<Published> requested(const std::string& build_id,
                              const events::v1::BuildRequested& request,
                              const std::string& msg_id = {});
  Result<Published> cancel_requested(const std::string& build_id, const std::string& by,
                                     const std::string& reason);

  bus::Bus& bus() { return bus_; }
  int timeout_ms() const { return timeout_ms_; }

 private:
  Result<Published> publish(events::v1::Envelope& envelope, const std::string& msg_id);

  bus::Bus& bus_;
  http::Metrics& metrics_;
  std::string producer_;
  int timeout_ms_;
};

// The JSON links a client follows for a build (served by analytics).
std::string build_links_json(const std::string& build_id);

}  // namespace kiln::webhook
