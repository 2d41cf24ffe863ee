// The builder's metrics (kiln_builder_*), each name and help text declared once.
#pragma once

#include "http/metrics.h"

namespace kiln::builder::metric {

inline constexpr http::Metric kSlots{"kiln_builder_slots", "Build slots of this replica"};
inline constexpr http::Metric kLogsTruncated{
    "kiln_builder_logs_truncated_total", "Build attempts whose log reached build.log-max-bytes"};
inline constexpr http::Metric kSlotsBusy{"kiln_builder_slots_busy", "Build slots running a build"};
inline constexpr http::Metric kBuilds{"kiln_builder_builds_total", "Builds by outcome"};
inline constexpr http::Metric kStagedBytes{"kiln_builder_staged_bytes_total",
                                           "Blob bytes sent to the staging registry"};
inline constexpr http::Metric kBuildDuration{"kiln_builder_build_duration_seconds",
                                             "Dispatched build duration (fetch to OCI layout)"};
inline constexpr http::Metric kSteps{"kiln_builder_steps_total",
                                     "Build steps finished, by cache use"};
inline constexpr http::Metric kEventPublishErrors{"kiln_builder_event_publish_errors_total",
                                                  "Step events that could not be published"};
inline constexpr http::Metric kCacheBytes{"kiln_builder_cache_bytes",
                                          "Size of the buildah storage (layer cache)"};
inline constexpr http::Metric kCacheMaxBytes{"kiln_builder_cache_max_bytes",
                                             "Configured bound of the layer cache"};
inline constexpr http::Metric kCacheEvictions{"kiln_builder_cache_evictions_total",
                                              "Images evicted from the cache"};
inline constexpr http::Metric kCacheTrimErrors{"kiln_builder_cache_trim_errors_total",
                                               "Failed cache trims"};
inline constexpr http::Metric kSharedCachePulled{"kiln_builder_shared_cache_pulled_total",
                                                 "Step images pulled from the shared layer cache"};
inline constexpr http::Metric kSharedCachePushed{"kiln_builder_shared_cache_pushed_total",
                                                 "Step images pushed to the shared layer cache"};
inline constexpr http::Metric kSharedCacheExpired{
    "kiln_builder_shared_cache_expired_total",
    "Step images deleted from the shared layer cache by age or count"};
inline constexpr http::Metric kSharedCacheErrors{
    "kiln_builder_shared_cache_errors_total",
    "Shared layer cache operations that failed (the build went on), by operation"};

}  // namespace kiln::builder::metric
