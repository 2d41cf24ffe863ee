// The builder's worker: `build.slots` threads (a worker::WorkLoop) share the durable `builder`
// consumer on kiln.build.dispatched.*, each taking one build at a time. A message is acked only
// after its outcome event is stored; at shutdown the running build is stopped and the message
// naked so another replica takes it.
#pragma once

#include <atomic>
#include <shared_mutex>
#include <string>

#include "builder/build_engine.h"
#include "builder/build_job.h"
#include "builder/options.h"
#include "builder/shared_cache.h"
#include "bus/bus.h"
#include "bus/message.h"
#include "http/metrics.h"
#include "registry/clients.h"
#include "secrets/build_secrets.h"
#include "worker/running_jobs.h"
#include "worker/work_loop.h"

namespace kiln::builder {

class Worker {
 public:
  Worker(bus::Bus& bus, BuildEngine& engine, const BuilderOptions& options, http::Metrics& metrics,
         std::string producer, worker::RunningJobs& running);
  ~Worker() { stop(); }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Opens the build secrets bucket (with secrets.key-file), binds the consumer (ensuring it
  // exists) and starts the slot threads.
  Status start();
  // Stops taking work, cancels running builds and hands their messages back (nak), joins.
  void stop();

  // Handles one dispatched message: decide, build, ack/nak. Public for tests that deliver
  // a message by hand.
  void handle(bus::Message& message);

 private:
  // Shares a built image's steps with the other builders (after the ack: off the build's path).
  void publish_to_shared_cache(const std::string& build_id, const std::string& project,
                               const BuildJob::LocalImage& image);
  // Purges the secrets given to a build whose outcome is stored (retried while the bus fails
  // over; what is left expires with the bucket's TTL).
  void forget_secrets(const std::string& build_id, const events::v1::BuildRequested& request);
  // Bounds the layer cache when no build is running on the storage.
  void maintain_cache();

  bus::Bus& bus_;
  BuildEngine& engine_;
  const BuilderOptions& options_;
  http::Metrics& metrics_;
  std::string producer_;
  worker::RunningJobs& running_;
  registry::RegistryClients registries_;
  SharedCache shared_cache_;
  std::unique_ptr<secrets::BuildSecrets> build_secrets_;
  std::atomic<bool> handing_back_{false};
  std::shared_mutex storage_mutex_;  // builds share it; cache trimming takes it alone
  worker::WorkLoop loop_;
};

}  // namespace kiln::builder
