// The builder's cancel watcher: libs/worker's, with the builder's log lines. Every replica reads
// all cancel requests from now on and stops the build if it runs here.
#pragma once

#include "bus/bus.h"
#include "worker/cancel_watcher.h"
#include "worker/running_jobs.h"

namespace kiln::builder {

class CancelWatcher : public worker::CancelWatcher {
 public:
  CancelWatcher(bus::Bus& bus, worker::RunningJobs& running)
      : worker::CancelWatcher(
            bus, running,
            {.cancelling = "cancel requested", .read_failed = "reading cancel requests failed"}) {}
};

}  // namespace kiln::builder
