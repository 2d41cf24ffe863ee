// The pusher's worker: `push.slots` threads (a worker::WorkLoop) share the durable `pusher`
// consumer on kiln.build.built.*, each pushing one build at a time while sending in-progress acks.
// A message is acked only after its outcome event is stored; at shutdown running pushes are
// cancelled and their messages naked so another replica takes them.
#pragma once

#include <atomic>
#include <string>

#include "bus/bus.h"
#include "bus/message.h"
#include "http/metrics.h"
#include "pusher/options.h"
#include "pusher/tenant_registries.h"
#include "registry/clients.h"
#include "worker/running_jobs.h"
#include "worker/work_loop.h"

namespace kiln::pusher {

class Worker {
 public:
  Worker(bus::Bus& bus, registry::RegistryClients& registries, const PusherOptions& options,
         http::Metrics& metrics, std::string producer, worker::RunningJobs& running);
  ~Worker() { stop(); }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Ensures and binds the consumer, then starts the slot threads.
  Status start();
  // Stops fetching, cancels running pushes and hands their messages back (nak), joins.
  void stop();

  // Handles one `built` message: decide, push, settle. Public for tests that deliver a message
  // by hand.
  void handle(bus::Message& message);

 private:
  bus::Bus& bus_;
  registry::RegistryClients& registries_;
  const PusherOptions& options_;
  TenantRegistries tenant_registries_;
  http::Metrics& metrics_;
  std::string producer_;
  worker::RunningJobs& running_;
  std::atomic<bool> handing_back_{false};
  worker::WorkLoop loop_;
};

}  // namespace kiln::pusher
