// The pushes this replica is running, each with its cancel flag (read by push_layout through the
// push request's cancel function): the shared registry of libs/worker under the pusher's name.
// The pusher itself uses worker::RunningJobs and worker::CancelFlag; only tests/ still include
// this header, which goes once they use those names too.
#pragma once

#include "worker/running_jobs.h"

namespace kiln::pusher {

using CancelFlag = worker::CancelFlag;
using RunningPushes = worker::RunningJobs;

}  // namespace kiln::pusher
