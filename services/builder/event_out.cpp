#include "builder/event_out.h"

#include "bus/retry.h"
#include "events/envelope.h"

namespace kiln::builder {

events::v1::Envelope EventOut::envelope() const {
  return events::new_envelope(build_id_, producer_, attempt_);
}

Result<bus::PublishAck> EventOut::publish(events::v1::Envelope& envelope,
                                          const std::string& msg_id_suffix,
                                          std::optional<std::uint64_t> expected_last_subject_seq) {
  events::Encoded encoded = events::encode(envelope);
  if (!msg_id_suffix.empty()) encoded.msg_id += ":" + msg_id_suffix;
  // A stream leader's death must not cost a step, a start or an outcome: the election takes
  // seconds, and an outcome that is not stored means the build is run again.
  return bus::retry_transient(kPublishWindow, [&] {
    return bus_.publish(encoded.subject, encoded.data, encoded.msg_id, expected_last_subject_seq);
  });
}

}  // namespace kiln::builder
