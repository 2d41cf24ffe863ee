#include "worker/cancel_watcher.h"

#include <utility>

#include "bus/consumer.h"
#include "bus/topology.h"
#include "common/log.h"
#include "events/subjects.h"

namespace kiln::worker {
namespace {

// Bounds how long stop() waits for the thread.
constexpr int kPollMs = 200;

}  // namespace

CancelWatcher::CancelWatcher(bus::Bus& bus, RunningJobs& running, CancelWatcherLogs logs)
    : bus_(bus), running_(running), logs_(std::move(logs)) {}

Status CancelWatcher::start() {
  auto reader = bus::SubjectReader::open(bus_, bus::kEventsStream,
                                         events::build_subject_filter("cancel_requested"),
                                         bus::SubjectReader::Start::kNew);
  if (!reader.ok()) return reader.error();
  thread_ = std::thread([this, reader = std::move(reader.value())]() mutable {
    while (!stopping_.load()) {
      auto next = reader->next(kPollMs);
      if (!next.ok()) {
        log::warn(logs_.read_failed, {{"error", next.error().describe()}});
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      if (!next->has_value()) continue;
      const std::string subject((*next)->subject());
      const std::string build_id = subject.substr(subject.rfind('.') + 1);
      if (running_.cancel(build_id)) log::info(logs_.cancelling, {{"build_id", build_id}});
    }
  });
  return {};
}

void CancelWatcher::stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace kiln::worker
