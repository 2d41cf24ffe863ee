// The pusher's cancel watcher: libs/worker's, with the pusher's log lines. Every replica reads
// all cancel requests from now on and stops the push if it runs here.
#pragma once

#include "bus/bus.h"
#include "worker/cancel_watcher.h"
#include "worker/running_jobs.h"

namespace kiln::pusher {

class CancelWatcher : public worker::CancelWatcher {
 public:
  CancelWatcher(bus::Bus& bus, worker::RunningJobs& running)
      : worker::CancelWatcher(bus, running,
                              {.cancelling = "cancelling push",
                               .read_failed = "reading cancel requests failed; retrying"}) {}
};

}  // namespace kiln::pusher
