#include "bus/bus.h"

#include <atomic>
#include <mutex>
#include <vector>

#include "common/strings.h"

namespace kiln::bus {
namespace {

Result<PublishAck> publish_with(jsCtx* js, std::string_view subject, std::string_view data,
                                std::string_view msg_id, int timeout_ms,
                                std::optional<std::uint64_t> expected_last_subject_seq) {
  if (msg_id.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "publish to " + std::string(subject) +
                                                       ": every kiln message needs a Nats-Msg-Id");
  }
  const std::string subject_str(subject);
  const std::string msg_id_str(msg_id);
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MsgId = msg_id_str.c_str();
  options.MaxWait = timeout_ms;
  if (expected_last_subject_seq) {
    options.ExpectLastSubjectSeq = *expected_last_subject_seq;
    // nats.c treats 0 as "not set"; "no message yet on this subject" is asked for with
    // ExpectLastSeq semantics through the subject sequence header below.
  }
  natsMsg* raw_msg = nullptr;
  if (natsStatus s = natsMsg_Create(&raw_msg, subject_str.c_str(), nullptr, data.data(),
                                    static_cast<int>(data.size()));
      s != NATS_OK) {
    return nats_error("natsMsg_Create", s);
  }
  MsgHandle msg(raw_msg);
  if (expected_last_subject_seq && *expected_last_subject_seq == 0) {
    natsMsgHeader_Set(msg.get(), "Nats-Expected-Last-Subject-Sequence", "0");
  }
  jsPubAck* raw_ack = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus s = js_PublishMsg(&raw_ack, js, msg.get(), &options, &js_code);
  PubAckHandle ack(raw_ack);
  if (s != NATS_OK) return nats_error("js_PublishMsg", s, js_code);
  return PublishAck{ack->Stream ? ack->Stream : "", ack->Sequence, ack->Duplicate};
}

}  // namespace

Result<std::unique_ptr<Bus>> Bus::connect(const BusOptions& options) {
  natsOptions* raw_opts = nullptr;
  if (natsStatus s = natsOptions_Create(&raw_opts); s != NATS_OK) {
    return nats_error("natsOptions_Create", s);
  }
  OptionsHandle opts(raw_opts);
  natsOptions_SetName(opts.get(), options.name.c_str());
  natsOptions_SetTimeout(opts.get(), options.connect_timeout_ms);
  natsOptions_SetMaxReconnect(opts.get(), options.max_reconnect);
  natsOptions_SetReconnectWait(opts.get(), options.reconnect_wait_ms);
  if (!options.user.empty()) {
    natsOptions_SetUserInfo(opts.get(), options.user.c_str(), options.password.c_str());
  }
  // Outgoing messages are buffered while reconnecting; JetStream publishes still wait for their
  // ack.
  natsOptions_SetReconnectBufSize(opts.get(), 8 * 1024 * 1024);
  if (options.retry_on_failed_connect) {
    natsOptions_SetRetryOnFailedConnect(opts.get(), true, nullptr, nullptr);
  }
  // nats.c 3.4 takes a comma-separated list in natsOptions_SetURL but then connects to none of
  // its servers ("No server available"): a cluster's URLs go in as an array.
  const std::vector<std::string> urls = split_list(options.url);
  if (urls.empty()) return make_error(ErrorCode::kInvalidArgument, "no NATS server URL");
  std::vector<const char*> url_pointers;
  for (const auto& url : urls) url_pointers.push_back(url.c_str());
  if (natsStatus s = natsOptions_SetServers(opts.get(), url_pointers.data(),
                                            static_cast<int>(url_pointers.size()));
      s != NATS_OK) {
    return nats_error(("natsOptions_SetServers " + options.url).c_str(), s);
  }

  auto bus = std::unique_ptr<Bus>(new Bus());
  bus->options_ = options;
  natsConnection* raw_conn = nullptr;
  natsStatus s = natsConnection_Connect(&raw_conn, opts.get());
  bus->connection_.reset(raw_conn);
  if (s != NATS_OK && !(s == NATS_NOT_YET_CONNECTED && options.retry_on_failed_connect)) {
    return nats_error(("natsConnection_Connect " + options.url).c_str(), s);
  }
  jsOptions js_opts;
  jsOptions_Init(&js_opts);
  js_opts.Wait = options.request_timeout_ms;
  jsCtx* raw_js = nullptr;
  if (natsStatus js_s = natsConnection_JetStream(&raw_js, bus->connection_.get(), &js_opts);
      js_s != NATS_OK) {
    return nats_error("natsConnection_JetStream", js_s);
  }
  bus->js_.reset(raw_js);
  return bus;
}

Result<PublishAck> Bus::publish(std::string_view subject, std::string_view data,
                                std::string_view msg_id,
                                std::optional<std::uint64_t> expected_last_subject_seq) {
  return publish_with(js_.get(), subject, data, msg_id, options_.request_timeout_ms,
                      expected_last_subject_seq);
}

Result<PublishAck> Bus::publish_within(std::string_view subject, std::string_view data,
                                       std::string_view msg_id, int timeout_ms) {
  if (!connected()) {
    return make_error(ErrorCode::kUnavailable, "not connected to NATS");
  }
  return publish_with(js_.get(), subject, data, msg_id, timeout_ms, std::nullopt);
}

bool Bus::connected() const {
  return connection_ && natsConnection_Status(connection_.get()) == NATS_CONN_STATUS_CONNECTED;
}

Status Bus::ping_jetstream(int timeout_ms) const {
  if (!connected()) return make_error(ErrorCode::kUnavailable, "not connected to NATS");
  jsOptions js_opts;
  jsOptions_Init(&js_opts);
  js_opts.Wait = timeout_ms;
  jsAccountInfo* info = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetAccountInfo(&info, js_.get(), &js_opts, &js_code);
  jsAccountInfo_Destroy(info);
  if (s != NATS_OK) return nats_error("js_GetAccountInfo", s, js_code);
  return {};
}

struct AsyncPublisher::Counters {
  std::mutex mutex;
  Stats stats;
};

Result<std::unique_ptr<AsyncPublisher>> AsyncPublisher::create(Bus& bus, int max_pending) {
  auto publisher = std::unique_ptr<AsyncPublisher>(new AsyncPublisher());
  publisher->counters_ = std::make_unique<Counters>();
  jsOptions js_opts;
  jsOptions_Init(&js_opts);
  js_opts.Wait = bus.options().request_timeout_ms;
  js_opts.PublishAsync.MaxPending = max_pending;
  // A full window is back-pressure from a busy server, not a failure: wait for acks as long as
  // any request may take (nats.c gives up after 200 ms by default).
  js_opts.PublishAsync.StallWait = bus.options().request_timeout_ms;
  js_opts.PublishAsync.AckHandler = &AsyncPublisher::on_ack;
  js_opts.PublishAsync.AckHandlerClosure = publisher->counters_.get();
  jsCtx* raw_js = nullptr;
  if (natsStatus s = natsConnection_JetStream(&raw_js, bus.connection(), &js_opts); s != NATS_OK) {
    return nats_error("natsConnection_JetStream", s);
  }
  publisher->js_.reset(raw_js);
  return publisher;
}

AsyncPublisher::~AsyncPublisher() {
  if (js_) {
    jsPubOptions opts;
    jsPubOptions_Init(&opts);
    opts.MaxWait = 2000;
    js_PublishAsyncComplete(js_.get(), &opts);
  }
}

void AsyncPublisher::on_ack(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* err, void* closure) {
  MsgHandle owned(msg);
  auto* counters = static_cast<Counters*>(closure);
  std::lock_guard lock(counters->mutex);
  if (ack != nullptr) {
    ++counters->stats.acked;
    if (ack->Duplicate) ++counters->stats.duplicates;
  } else {
    ++counters->stats.failed;
    if (counters->stats.first_error.empty() && err != nullptr) {
      counters->stats.first_error = err->ErrText ? err->ErrText : natsStatus_GetText(err->Err);
    }
  }
}

Status AsyncPublisher::publish(std::string_view subject, std::string_view data,
                               std::string_view msg_id) {
  const std::string subject_str(subject);
  const std::string msg_id_str(msg_id);
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MsgId = msg_id_str.c_str();
  if (natsStatus s = js_PublishAsync(js_.get(), subject_str.c_str(), data.data(),
                                     static_cast<int>(data.size()), &options);
      s != NATS_OK) {
    return nats_error("js_PublishAsync", s);
  }
  return {};
}

Result<AsyncPublisher::Stats> AsyncPublisher::wait(int timeout_ms) {
  jsPubOptions opts;
  jsPubOptions_Init(&opts);
  opts.MaxWait = timeout_ms;
  if (natsStatus s = js_PublishAsyncComplete(js_.get(), &opts); s != NATS_OK) {
    return nats_error("js_PublishAsyncComplete", s);
  }
  std::lock_guard lock(counters_->mutex);
  Stats out = counters_->stats;
  counters_->stats = Stats{};
  return out;
}

}  // namespace kiln::bus
