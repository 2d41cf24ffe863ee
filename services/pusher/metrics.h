// The pusher's metrics (kiln_pusher_*), each name and help text declared once.
#pragma once

#include "http/metrics.h"

namespace kiln::pusher::metric {

inline constexpr http::Metric kSlots{"kiln_pusher_slots", "Push slots of this replica"};
inline constexpr http::Metric kSlotsBusy{"kiln_pusher_slots_busy", "Push slots running a push"};
inline constexpr http::Metric kPushes{"kiln_pusher_pushes_total", "Builds handled by outcome"};
inline constexpr http::Metric kPushDuration{"kiln_pusher_push_duration_seconds",
                                            "Duration of successful pushes"};
inline constexpr http::Metric kBytesUploaded{"kiln_pusher_bytes_uploaded_total",
                                             "Blob bytes sent to registries"};
inline constexpr http::Metric kBytesSkipped{"kiln_pusher_bytes_skipped_total",
                                            "Blob bytes not sent: already present or mounted"};
inline constexpr http::Metric kBusErrors{
    "kiln_pusher_bus_errors_total",
    "Event log reads or writes that failed (message retried later)"};
inline constexpr http::Metric kStagingCleanupErrors{
    "kiln_pusher_staging_cleanup_errors_total",
    "Staged images that could not be deleted after their build ended (the sweep retries)"};
inline constexpr http::Metric kStagedSwept{"kiln_pusher_staged_swept_total",
                                           "Staged images deleted by age"};

}  // namespace kiln::pusher::metric
