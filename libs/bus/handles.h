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

// Drain before destroy, for every subscription kiln frees (readers, pull consumers, KV
// watchers). nats.c 3.4 (fixed upstream in 3.6, nats-io/nats.c#637/#638) has its read thread look
// a subscription up by sid, release the lookup lock, copy the message, and only then lock the
// subscription. A subscription freed in that window is a use-after-free: a glibc mutex assertion
// or a segfault, or, once the memory is reused by a new subscription, a foreign message that makes
// an ordered consumer restart at the wrong sequence and skip messages. So: `stop` first
// (unsubscribe: the read thread no longer finds it), then a flush, whose PONG the read thread
// handles only after every message before it, then free. Without a connection there is no read
// thread at work and nothing to wait for. Failures can only be logged (this runs in destructors).
void close_subscription(natsConnection* connection, SubscriptionHandle& subscription);
void close_watcher(natsConnection* connection, KvWatcherHandle& watcher);

// Turns a failed nats.c call into an Error naming the call, the status text, the library's last
// error detail and, when JetStream gave one, its error code (as peer_code "JS <code>").
Error nats_error(const char* call, natsStatus status,
                 jsErrCode js_code = static_cast<jsErrCode>(0));

}  // namespace kiln::bus
