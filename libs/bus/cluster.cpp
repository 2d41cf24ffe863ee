#include "bus/cluster.h"

#include <string_view>

#include "bus/consumer.h"

namespace kiln::bus {

Result<std::string> stream_leader(Bus& bus, const std::string& stream) {
  auto info = stream_info(bus, stream);
  if (!info.ok()) return info.error();
  const jsClusterInfo* cluster = (*info)->Cluster;
  if (cluster == nullptr || cluster->Leader == nullptr) return std::string();
  return std::string(cluster->Leader);
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
