// One build, from a dispatched message to its outcome event: fetch the source, pull the base
// images, build with the engine (steps and logs published live), export the OCI layout, and
// publish `built`, `failed` or `cancelled`.
#pragma once

#include <atomic>
#include <string>

#include "builder/build_engine.h"
#include "builder/event_out.h"
#include "builder/failure.h"
#include "builder/options.h"
#include "builder/process.h"
#include "bus/bus.h"
#include "common/result.h"
#include "http/metrics.h"
#include "kiln/events/v1/events.pb.h"

namespace kiln::builder {

struct JobServices {
  bus::Bus& bus;
  BuildEngine& engine;
  const BuilderOptions& options;
  http::Metrics& metrics;
  std::string producer;
};

class BuildJob {
 public:
  // `requested` is the build's `requested` event; `cancel` is set by the cancel watcher (or
  // at shutdown, with `handing_back` telling the job not to publish `cancelled`).
  BuildJob(JobServices services, events::v1::Envelope requested, int attempt,
           const CancelFlag& cancel);

  enum class Outcome { kBuilt, kFailed, kCancelled, kHandedBack, kAlreadyBuilt };
  // Ok when the outcome event is stored (the caller acks); an error when it could not be
  // published (the caller naks so the build is tried again).
  Result<Outcome> run(const std::atomic<bool>& handing_back);

 private:
  Result<Outcome> finish_failed(const Failure& failure, const std::atomic<bool>& handing_back);
  Result<Outcome> publish_built(const std::string& layout_tmp, events::v1::ImageBuilt built);
  void kiln_line(const std::string& text);

  JobServices services_;
  events::v1::Envelope requested_;
  std::string build_id_;
  int attempt_;
  const CancelFlag& cancel_;
  EventOut out_;
  class LogStream* logs_ = nullptr;
};

}  // namespace kiln::builder
