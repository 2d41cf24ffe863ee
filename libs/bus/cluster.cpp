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

Result<std::string> stream_replicas_missing(Bus& bus, const std::string& stream) {
  auto info = stream_info(bus, stream);
  if (!info.ok()) return info.error();
  const jsClusterInfo* cluster = (*info)->Cluster;
  if (cluster == nullptr) return std::string();
  if (cluster->Leader == nullptr) return std::string("no leader");
  std::string missing;
  for (int i = 0; i < cluster->ReplicasLen; ++i) {
    const jsPeerInfo* replica = cluster->Replicas[i];
    if (replica == nullptr || (!replica->Offline && replica->Current)) continue;
    if (!missing.empty()) missing += ", ";
    missing += replica->Name != nullptr ? replica->Name : "?";
    missing += replica->Offline ? " offline"
                                : " behind by " + std::to_string(replica->Lag) + " (active " +
                                      std::to_string(replica->Active / 1000000) + " ms ago)";
  }
  return missing;
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
