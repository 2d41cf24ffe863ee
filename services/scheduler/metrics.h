// The scheduler's metrics (kiln_scheduler_*), each name and help text declared once.
#pragma once

#include "http/metrics.h"

namespace kiln::scheduler::metric {

inline constexpr http::Metric kScheduleFires{"kiln_scheduler_schedule_fires_total",
                                             "Cron ticks fired"};
inline constexpr http::Metric kDecisions{"kiln_scheduler_decisions_total",
                                         "Events published by the dispatcher"};
inline constexpr http::Metric kDispatchLatency{"kiln_scheduler_dispatch_latency_seconds",
                                               "Time from requested to dispatched"};
inline constexpr http::Metric kQueueDepth{"kiln_scheduler_queue_depth",
                                          "Builds waiting for a slot"};
inline constexpr http::Metric kRunning{"kiln_scheduler_running",
                                       "Builds dispatched and not finished"};
inline constexpr http::Metric kLeader{"kiln_scheduler_leader",
                                      "1 while this instance holds the leader lease"};
inline constexpr http::Metric kSchedules{"kiln_scheduler_schedules", "Cron schedules loaded"};

}  // namespace kiln::scheduler::metric
