#include "events/subjects.h"

namespace kiln::events {

std::string build_subject(std::string_view type, std::string_view build_id) {
  return "kiln.build." + std::string(type) + "." + std::string(build_id);
}

std::string build_subject_filter(std::string_view type) {
  return "kiln.build." + std::string(type) + ".*";
}

std::string build_events_filter(std::string_view build_id) {
  return "kiln.build.*." + std::string(build_id);
}

std::string log_subject(std::string_view build_id) { return "kiln.log." + std::string(build_id); }

std::string upload_subject(std::string_view upload_id) {
  return "kiln.upload." + std::string(upload_id);
}

std::string type_of_subject(std::string_view subject) {
  constexpr std::string_view kPrefix = "kiln.build.";
  if (subject.substr(0, kPrefix.size()) != kPrefix) return {};
  subject.remove_prefix(kPrefix.size());
  const auto dot = subject.find('.');
  if (dot == std::string_view::npos) return {};
  return std::string(subject.substr(0, dot));
}

std::string event_msg_id(std::string_view build_id, std::string_view type, std::int32_t attempt) {
  return std::string(build_id) + ":" + std::string(type) + ":" + std::to_string(attempt);
}

std::string webhook_msg_id(std::string_view provider, std::string_view delivery_id) {
  return "webhook:" + std::string(provider) + ":" + std::string(delivery_id);
}

std::string schedule_msg_id(std::string_view schedule_id, std::int64_t fire_time_ms) {
  return "schedule:" + std::string(schedule_id) + ":" + std::to_string(fire_time_ms);
}

bool valid_token(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace kiln::events
