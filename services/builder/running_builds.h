// The builds this replica is running, each with its cancel flag: the shared registry of
// libs/worker under the builder's name.
#pragma once

#include "worker/running_jobs.h"

namespace kiln::builder {

using RunningBuilds = worker::RunningJobs;

}  // namespace kiln::builder
