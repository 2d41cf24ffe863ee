#include "bus/cluster.h"

#include <string_view>

namespace kiln::bus {

Result<std::string> stream_leader(Bus& bus, const std::string& stream) {
  jsStreamInfo* raw = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw, bus.js(), stream.c_str(), nullptr, &js_code);
  StreamInfoHandle info(raw);
  if (s != NATS_OK) return nats_error("js_GetStreamInfo", s, js_code);
  if (info->Cluster == nullptr || info->Cluster->Leader == nullptr) return std::string();
  return std::string(info->Cluster->Leader);
}

Status step_down_stream_leader(Bus& bus, const std::string& stream) {
  // nats.c 3.4 has no call for it: the JetStream API subject, answered with a JSON reply.
  const std::string subject = "$JS.API.STREAM.LEADER.STEPDOWN." + stream;
  natsMsg* raw = nullptr;
  natsStatus s = natsConnection_Request(&raw, bus.connection(), subject.c_str(), "", 0,
                                        bus.options().request_timeout_ms);
  MsgHandle reply(raw);
  if (s != NATS_OK) return nats_error("stream leader step-down", s);
  const std::string_view body(natsMsg_GetData(reply.get()),
                              static_cast<std::size_t>(natsMsg_GetDataLength(reply.get())));
  if (body.find("\"success\":true") == std::string_view::npos) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "stream leader step-down of " + stream + ": " + std::string(body));
  }
  return {};
}

}  // namespace kiln::bus
