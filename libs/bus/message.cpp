#include "bus/message.h"

namespace kiln::bus {

Message::Message(natsMsg* msg) : msg_(msg) {
  jsMsgMetaData* raw = nullptr;
  if (natsMsg_GetMetaData(&raw, msg_.get()) == NATS_OK) {
    MetaDataHandle meta(raw);
    stream_sequence_ = meta->Sequence.Stream;
    consumer_sequence_ = meta->Sequence.Consumer;
    deliveries_ = meta->NumDelivered;
    pending_ = meta->NumPending;
    timestamp_ns_ = meta->Timestamp;
  } else {
    // A message read by sequence or as a subject's last (js_GetMsg, js_GetLastMsg) has no
    // delivery metadata, but the library knows its stream sequence.
    stream_sequence_ = natsMsg_GetSequence(msg_.get());
  }
}

std::string_view Message::subject() const { return natsMsg_GetSubject(msg_.get()); }

std::string_view Message::data() const {
  return {natsMsg_GetData(msg_.get()), static_cast<size_t>(natsMsg_GetDataLength(msg_.get()))};
}

std::string Message::header(const char* name) const {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg_.get(), name, &value) != NATS_OK || value == nullptr) return {};
  return value;
}

Status Message::ack() {
  jsErrCode js_code = static_cast<jsErrCode>(0);
  if (natsStatus s = natsMsg_AckSync(msg_.get(), nullptr, &js_code); s != NATS_OK) {
    return nats_error("natsMsg_AckSync", s, js_code);
  }
  return {};
}

Status Message::ack_async() {
  if (natsStatus s = natsMsg_Ack(msg_.get(), nullptr); s != NATS_OK) {
    return nats_error("natsMsg_Ack", s);
  }
  return {};
}

Status Message::nak(int delay_ms) {
  natsStatus s = delay_ms > 0 ? natsMsg_NakWithDelay(msg_.get(), delay_ms, nullptr)
                              : natsMsg_Nak(msg_.get(), nullptr);
  if (s != NATS_OK) return nats_error("natsMsg_Nak", s);
  return {};
}

Status Message::in_progress() {
  if (natsStatus s = natsMsg_InProgress(msg_.get(), nullptr); s != NATS_OK) {
    return nats_error("natsMsg_InProgress", s);
  }
  return {};
}

Status Message::term() {
  if (natsStatus s = natsMsg_Term(msg_.get(), nullptr); s != NATS_OK) {
    return nats_error("natsMsg_Term", s);
  }
  return {};
}

}  // namespace kiln::bus
