// The builds this replica is running, each with its cancel flag: the shared registry of
// libs/worker under the builder's name. The builder itself uses worker::RunningJobs; only tests/
// and bench/ still include this header, which goes once they use worker::RunningJobs too.
#pragma once

#include "worker/running_jobs.h"

namespace kiln::builder {

using RunningBuilds = worker::RunningJobs;

}  // namespace kiln::builder
