// One `built` message, from decision to outcome event: skip a build that already ended, finish
// one whose `pushed` is stored but not its `succeeded`, honour a cancel, else promote the staged
// image to its target and publish pushed + succeeded (or failed / cancelled). The job never acks:
// it tells the worker how to settle the message, after the outcome event is stored.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "bus/bus.h"
#include "common/result.h"
#include "http/metrics.h"
#include "kiln/events/v1/events.pb.h"
#include "pusher/options.h"
#include "pusher/push_target.h"
#include "pusher/tenant_registries.h"
#include "registry/clients.h"
#include "registry/push.h"
#include "worker/running_jobs.h"
#include "worker/settle.h"

namespace kiln::pusher {

struct JobServices {
  bus::Bus& bus;
  registry::RegistryClients& registries;  // the pusher's own: staging
  TenantRegistries& tenant_registries;    // the target, with the build's tenant's credentials
  const PusherOptions& options;
  http::Metrics& metrics;
  const std::string& producer;
  worker::RunningJobs& running;
};

class PushJob {
 public:
  // `built` is the decoded envelope (has_built(), valid build id). `handing_back` is set when the
  // service stops: a push cancelled by it is handed back instead of ending as cancelled.
  PushJob(const JobServices& services, events::v1::Envelope built,
          const std::atomic<bool>& handing_back);

  worker::Settle run();

 private:
  Result<worker::Settle> decide_and_push();
  Result<worker::Settle> push(const events::v1::Envelope& requested,
                              const worker::CancelFlag& flag);
  Result<worker::Settle> publish_pushed(const events::v1::Envelope& requested,
                                        const PushTarget& target,
                                        const registry::PushReport& report);
  Result<worker::Settle> publish_succeeded(const events::v1::Envelope& requested,
                                           const events::v1::ImagePushed& pushed);
  Result<worker::Settle> publish_failed(const std::string& reason, bool retryable);
  Result<worker::Settle> publish_cancelled(const std::string& reason);

  // Publishes with this build's attempt in the Msg-Id.
  Result<bus::PublishAck> publish(events::v1::Envelope& envelope,
                                  std::optional<std::uint64_t> expected_last_subject_seq = {});
  events::v1::Envelope envelope() const;
  Result<std::optional<events::v1::Envelope>> stored(const std::string& type);
  // The build has ended: its staged image is no longer needed.
  void remove_staged();
  void count(const std::string& outcome);

  const JobServices& services_;
  events::v1::Envelope built_;
  const std::atomic<bool>& handing_back_;
  std::string build_id_;
  int attempt_ = 0;
};

// One line for an event's reason field: a registry message may span lines.
std::string one_line(std::string text, std::size_t max_size = 1000);

}  // namespace kiln::pusher
