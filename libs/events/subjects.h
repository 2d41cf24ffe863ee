// Subject names and message ids, built in one place (docs/design.md "Streams, buckets and
// consumers" and "Fences, idempotency and liveness").
// Services never paste subjects together themselves.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::events {

// kiln.build.<type>.<build_id>
std::string build_subject(std::string_view type, std::string_view build_id);
// kiln.build.<type>.* — every build's events of one type.
std::string build_subject_filter(std::string_view type);
// kiln.build.*.<build_id> — every event of one build.
std::string build_events_filter(std::string_view build_id);
// kiln.log.<build_id>
std::string log_subject(std::string_view build_id);
// kiln.upload.<upload_id>
std::string upload_subject(std::string_view upload_id);

// The event type token of a subject kiln.build.<type>.<id>; empty when it is not one.
std::string type_of_subject(std::string_view subject);

// Nats-Msg-Id of a pipeline event: unique per build, type and attempt, so a retried publish of
// the same fact is stored once.
std::string event_msg_id(std::string_view build_id, std::string_view type, std::int32_t attempt);
// Nats-Msg-Id of a webhook's `requested`: provider and the host's delivery id.
std::string webhook_msg_id(std::string_view provider, std::string_view delivery_id);
// Nats-Msg-Id of a schedule's `requested`: schedule id and the tick's fire time.
std::string schedule_msg_id(std::string_view schedule_id, std::int64_t fire_time_ms);

// True for ids safe to use as a subject token (letters, digits, '-', '_'; 1..128 chars).
bool valid_token(std::string_view id);

}  // namespace kiln::events
