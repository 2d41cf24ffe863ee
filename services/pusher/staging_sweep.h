// Deletes staged images nobody will promote: a build cancelled or failed after `built`, an
// attempt that lost the `built` fence, a pusher killed between promotion and cleanup. At start
// and every ten minutes, every tag of the staging repository made more than
// staging.max-age-hours ago (by the time in its name) loses its manifest. Several pushers may
// sweep at once: deleting what is already gone is no error.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "http/metrics.h"
#include "registry/clients.h"
#include "registry/staging.h"

namespace kiln::pusher {

struct SweepReport {
  int tags_seen = 0;
  int deleted = 0;
  int errors = 0;
};

// One pass, as of `now_seconds` (unix time); `control.cancel` stops it between and during calls.
// A registry that refuses deletes ends the pass at the first refusal.
SweepReport sweep_staging(registry::RegistryClient& client, const registry::StagingOptions& staging,
                          std::int64_t now_seconds, const registry::TransferControl& control = {});

class StagingSweeper {
 public:
  StagingSweeper(registry::RegistryClients& registries, const registry::StagingOptions& staging,
                 http::Metrics& metrics)
      : registries_(registries), staging_(staging), metrics_(metrics) {}
  ~StagingSweeper() { stop(); }
  StagingSweeper(const StagingSweeper&) = delete;
  StagingSweeper& operator=(const StagingSweeper&) = delete;

  void start();
  void stop();

 private:
  void sweep_once();

  registry::RegistryClients& registries_;
  const registry::StagingOptions& staging_;
  http::Metrics& metrics_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace kiln::pusher
