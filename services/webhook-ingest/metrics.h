// webhook-ingest's metrics (kiln_webhook_*), each name and help text declared once.
#pragma once

#include "http/metrics.h"

namespace kiln::webhook::metric {

inline constexpr http::Metric kRequests{"kiln_webhook_requests_total",
                                        "Webhook requests by provider and outcome"};
inline constexpr http::Metric kRequestDuration{"kiln_webhook_request_duration_seconds",
                                               "Webhook latency, including the JetStream ack"};
inline constexpr http::Metric kPublishFailures{"kiln_webhook_publish_failures_total",
                                               "Events that JetStream did not acknowledge in time"};
inline constexpr http::Metric kUploadsRefused{
    "kiln_webhook_uploads_refused_total",
    "Uploads refused, by reason (payload_too_large, invalid_context, uploads_full, ...)"};

}  // namespace kiln::webhook::metric
