#include "bus/consumer.h"

#include "common/log.h"

namespace kiln::bus {
namespace {}  // namespace

Result<std::unique_ptr<PullConsumer>> PullConsumer::bind(Bus& bus, const ConsumerSpec& spec) {
  jsSubOptions sub_opts;
  jsSubOptions_Init(&sub_opts);
  sub_opts.Stream = spec.stream.c_str();
  sub_opts.Consumer = spec.durable.c_str();
  sub_opts.ManualAck = true;
  natsSubscription* raw = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus s = js_PullSubscribe(&raw, bus.js(), spec.filter_subject.c_str(), spec.durable.c_str(),
                                  nullptr, &sub_opts, &js_code);
  if (s != NATS_OK) return nats_error("js_PullSubscribe", s, js_code);
  auto consumer = std::unique_ptr<PullConsumer>(new PullConsumer());
  consumer->subscription_.reset(raw);
  consumer->connection_ = bus.connection();
  return consumer;
}

Result<std::vector<Message>> PullConsumer::fetch(int batch, int timeout_ms) {
  natsMsgList list{};
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus s = natsSubscription_Fetch(&list, subscription_.get(), batch, timeout_ms, &js_code);
  std::vector<Message> out;
  if (s == NATS_TIMEOUT) {
    natsMsgList_Destroy(&list);
    return out;
  }
  if (s != NATS_OK) {
    natsMsgList_Destroy(&list);
    return nats_error("natsSubscription_Fetch", s, js_code);
  }
  out.reserve(list.Count);
  for (int i = 0; i < list.Count; ++i) {
    out.emplace_back(list.Msgs[i]);
    list.Msgs[i] = nullptr;  // ownership moved into Message
  }
  natsMsgList_Destroy(&list);
  return out;
}

Result<std::unique_ptr<SubjectReader>> SubjectReader::open(Bus& bus, const std::string& stream,
                                                           const std::string& filter, Start start,
                                                           std::uint64_t start_sequence) {
  jsSubOptions sub_opts;
  jsSubOptions_Init(&sub_opts);
  sub_opts.Stream = stream.c_str();
  sub_opts.Ordered = true;
  // An ordered consumer lives on the stream's leader only. When that node dies, missed
  // heartbeats are how nats.c notices and recreates it elsewhere: every second, not the default
  // five, so a reader (the scheduler's) resumes within seconds of a node's death.
  sub_opts.Config.Heartbeat = 1'000'000'000;
  switch (start) {
    case Start::kAll:
      sub_opts.Config.DeliverPolicy = js_DeliverAll;
      break;
    case Start::kNew:
      sub_opts.Config.DeliverPolicy = js_DeliverNew;
      break;
    case Start::kSequence:
      sub_opts.Config.DeliverPolicy = js_DeliverByStartSequence;
      sub_opts.Config.OptStartSeq = start_sequence == 0 ? 1 : start_sequence;
      break;
  }
  natsSubscription* raw = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus s = js_SubscribeSync(&raw, bus.js(), filter.c_str(), nullptr, &sub_opts, &js_code);
  if (s != NATS_OK) return nats_error("js_SubscribeSync", s, js_code);
  auto reader = std::unique_ptr<SubjectReader>(new SubjectReader());
  reader->connection_ = bus.connection();
  reader->subscription_.reset(raw);
  // Replaying a whole stream outruns a slow reader; nats.c would then drop messages past its
  // default 65,536 ("slow consumer"). The consumer's flow control already bounds what is in
  // flight, so the client-side limit only loses messages: lift it.
  if (auto limits = reader->set_pending_limits(-1, -1); !limits.ok()) return limits.error();
  return reader;
}

SubjectReader::~SubjectReader() { close_subscription(connection_, subscription_); }

PullConsumer::~PullConsumer() { close_subscription(connection_, subscription_); }

Result<std::optional<Message>> SubjectReader::next(int timeout_ms) {
  natsMsg* raw = nullptr;
  natsStatus s = natsSubscription_NextMsg(&raw, subscription_.get(), timeout_ms);
  if (s == NATS_TIMEOUT) return std::optional<Message>{};
  if (s != NATS_OK) return nats_error("natsSubscription_NextMsg", s);
  return std::optional<Message>(Message(raw));
}

Status SubjectReader::set_pending_limits(int messages, int bytes) {
  if (natsStatus s = natsSubscription_SetPendingLimits(subscription_.get(), messages, bytes);
      s != NATS_OK) {
    return nats_error("natsSubscription_SetPendingLimits", s);
  }
  return {};
}

Result<StreamInfoHandle> stream_info(Bus& bus, const std::string& stream) {
  jsStreamInfo* raw = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw, bus.js(), stream.c_str(), nullptr, &js_code);
  StreamInfoHandle info(raw);
  if (s != NATS_OK) return nats_error("js_GetStreamInfo", s, js_code);
  return info;
}

Result<std::uint64_t> last_stream_sequence(Bus& bus, const std::string& stream) {
  auto info = stream_info(bus, stream);
  if (!info.ok()) return info.error();
  return (*info)->State.LastSeq;
}

Status purge_subject(Bus& bus, const std::string& stream, const std::string& subject) {
  jsOptions options;
  jsOptions_Init(&options);
  options.Stream.Purge.Subject = subject.c_str();
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus s = js_PurgeStream(bus.js(), stream.c_str(), &options, &js_code);
  if (s != NATS_OK) return nats_error("js_PurgeStream", s, js_code);
  return {};
}

Result<std::optional<Message>> last_message(Bus& bus, const std::string& stream,
                                            const std::string& subject) {
  natsMsg* raw = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetLastMsg(&raw, bus.js(), stream.c_str(), subject.c_str(), nullptr, &js_code);
  if (s == NATS_NOT_FOUND || js_code == JSNoMessageFoundErr) {
    natsMsg_Destroy(raw);
    return std::optional<Message>{};
  }
  if (s != NATS_OK) return nats_error("js_GetLastMsg", s, js_code);
  return std::optional<Message>(Message(raw));
}

}  // namespace kiln::bus
