// The one place where nats.c handles are owned. Every *_Destroy in nats.c accepts NULL, so a
// unique_ptr with the matching destroy function is a complete RAII wrapper. Nobody outside libs/bus
// calls a raw destroy.
#pragma once

#include <nats/nats.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace kiln::bus {

template <typename T, void (*Destroy)(T*)>
struct HandleDeleter {
  void operator()(T* handle) const { Destroy(handle); }
};

template <typename T, void (*Destroy)(T*)>
using Handle = std::unique_ptr<T, HandleDeleter<T, Destroy>>;

using OptionsHandle = Handle<natsOptions, natsOptions_Destroy>;
using ConnectionHandle = Handle<natsConnection, natsConnection_Destroy>;
using JsHandle = Handle<jsCtx, jsCtx_Destroy>;
using SubscriptionHandle = Handle<natsSubscription, natsSubscription_Destroy>;
using MsgHandle = Handle<natsMsg, natsMsg_Destroy>;
using PubAckHandle = Handle<jsPubAck, jsPubAck_Destroy>;
using StreamInfoHandle = Handle<jsStreamInfo, jsStreamInfo_Destroy>;
using ConsumerInfoHandle = Handle<jsConsumerInfo, jsConsumerInfo_Destroy>;
using MetaDataHandle = Handle<jsMsgMetaData, jsMsgMetaData_Destroy>;
using KvStoreHandle = Handle<kvStore, kvStore_Destroy>;
using KvEntryHandle = Handle<kvEntry, kvEntry_Destroy>;
using KvWatcherHandle = Handle<kvWatcher, kvWatcher_Destroy>;

// Turns a failed nats.c call into an Error naming the call, the status text, the library's last
// error detail and, when JetStream gave one, its error code (as peer_code "JS <code>").
Error nats_error(const char* call, natsStatus status,
                 jsErrCode js_code = static_cast<jsErrCode>(0));

}  // namespace kiln::bus
