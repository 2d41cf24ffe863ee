// The scheduler's options: each member's initialiser is its default; describe() names, explains
// and bounds them once for --help, docs/configuration.md and the checks at start-up.
#pragma once

#include "common/config.h"
#include "scheduler/scheduler_runner.h"
#include "service/service.h"

namespace kiln::scheduler {

inline constexpr int kDefaultHttpPort = 8082;

struct SchedulerOptions {
  service::CommonOptions common{kDefaultHttpPort};
  RunnerOptions runner;  // handed to the runner as is
};

// A Config for kiln-scheduler with every option bound to a member of `options`.
Config describe(SchedulerOptions& options);

}  // namespace kiln::scheduler
