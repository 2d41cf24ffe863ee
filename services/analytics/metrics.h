// analytics' metrics (kiln_analytics_*), each name and help text declared once.
#pragma once

#include "http/metrics.h"

namespace kiln::analytics::metric {

inline constexpr http::Metric kEventsApplied{"kiln_analytics_events_applied_total",
                                             "Events applied to the projections"};
inline constexpr http::Metric kEventsSkipped{
    "kiln_analytics_events_skipped_total",
    "Redelivered or replayed events skipped by the checkpoint"};
inline constexpr http::Metric kApplyFailures{"kiln_analytics_apply_failures_total",
                                             "Batches that failed to apply (retried)"};
inline constexpr http::Metric kBatchApplySeconds{"kiln_analytics_batch_apply_seconds",
                                                 "Time to apply and commit one batch"};
inline constexpr http::Metric kCheckpoint{"kiln_analytics_checkpoint",
                                          "Last applied KILN_EVENTS sequence"};
inline constexpr http::Metric kDatabaseUp{"kiln_analytics_database_up",
                                          "1 when the last apply succeeded"};
inline constexpr http::Metric kProjectionLagEvents{"kiln_analytics_projection_lag_events",
                                                   "Events not yet applied"};
inline constexpr http::Metric kProjectionLagSeconds{"kiln_analytics_projection_lag_seconds",
                                                    "Age of the oldest event not yet applied"};
inline constexpr http::Metric kQuerySeconds{"kiln_analytics_query_seconds",
                                            "Query API latency by endpoint"};
inline constexpr http::Metric kLiveStreams{"kiln_analytics_live_streams_total",
                                           "Live streams opened"};

}  // namespace kiln::analytics::metric
