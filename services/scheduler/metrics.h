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
inline constexpr http::Metric kKnownBuilds{"kiln_scheduler_known_builds",
                                           "Builds in memory: live ones and recently finished"};
inline constexpr http::Metric kSnapshotSequence{
    "kiln_scheduler_snapshot_sequence", "KILN_EVENTS sequence of the newest snapshot written"};
inline constexpr http::Metric kSnapshotWrites{"kiln_scheduler_snapshot_writes_total",
                                              "Snapshots written, by outcome"};
inline constexpr http::Metric kRecoveryEvents{
    "kiln_scheduler_recovery_events",
    "Events read at the last start or recovery (the tail after the snapshot)"};

}  // namespace kiln::scheduler::metric
