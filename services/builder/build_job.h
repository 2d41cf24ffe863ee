// One build, from a dispatched message to its outcome event: fetch the source, pull the base
// images, build with the engine (steps and logs published live), export the OCI layout, and
// publish `built`, `failed` or `cancelled`.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "builder/build_engine.h"
#include "builder/event_out.h"
#include "builder/failure.h"
#include "builder/git_source.h"
#include "builder/options.h"
#include "builder/process.h"
#include "builder/shared_cache.h"
#include "bus/bus.h"
#include "common/result.h"
#include "http/metrics.h"
#include "kiln/events/v1/events.pb.h"
#include "registry/clients.h"
#include "secrets/build_secrets.h"

namespace kiln::builder {

struct StepEvent;

struct JobServices {
  bus::Bus& bus;
  BuildEngine& engine;
  const BuilderOptions& options;
  http::Metrics& metrics;
  std::string producer;
  registry::RegistryClients& registries;  // the staging registry's client
  SharedCache& shared_cache;
  secrets::BuildSecrets* build_secrets;  // nullptr without secrets.key-file
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

  // After kBuilt: the built image in the local storage and when `bud` started, for the shared
  // layer cache.
  struct LocalImage {
    std::string id;
    std::int64_t build_started_ms = 0;
  };
  const std::optional<LocalImage>& local_image() const { return local_image_; }

 private:
  struct State;  // what the phases of one run share (build_job.cpp)

  // The builder's configured secrets and this build's own (which win on a shared id); a failure
  // when one of the build's own is gone or cannot be opened here, an error when the bus fails.
  Result<std::optional<Failure>> gather_secrets();
  // The project's secrets and Git credentials from the tenant's store (secrets.dir).
  std::optional<Failure> gather_store_secrets();

  // The phases, in order; each returns the failure that ends the build, if any. fetch_source
  // returns an error instead when `started` could not be published.
  Result<std::optional<Failure>> fetch_source(State& state);
  std::optional<Failure> check_context(State& state);
  std::optional<Failure> check_platform(const State& state);
  std::optional<Failure> pull_bases(State& state);
  // Pulls the project's shared cache images this builder lacks (never fails the build).
  void warm_shared_cache(State& state);
  void prepare_build(State& state);
  std::optional<Failure> build_image(State& state);
  std::optional<Failure> export_layout(State& state);
  Result<Outcome> finish_built(State& state, const std::atomic<bool>& handing_back);
  // Pushes the layout to this attempt's own tag in the staging repository; an error when the
  // registry may answer later (the build is tried again), a failure when it never will.
  Result<std::optional<Failure>> stage_image(State& state);
  // What a publish of `built` refused by the fence means: the stored `built` is this attempt's
  // own (an answer lost), another's (this attempt's staged image is deleted), or none yet (an
  // error: the fence proved nothing).
  Result<Outcome> fenced(const events::v1::ImageBuilt& mine);
  // Deletes a staged image (best effort: the pushers' sweep deletes what is left by age).
  void unstage(const events::v1::StagedImage& staged, const std::string& digest);

  Status publish_started(const std::string& commit);
  void publish_step(const StepEvent& step);
  Result<Outcome> finish_failed(const Failure& failure, const std::atomic<bool>& handing_back);
  Result<Outcome> publish_built(events::v1::ImageBuilt built);
  void kiln_line(const std::string& text);
  // Counts and logs an attempt whose log reached build.log-max-bytes.
  void note_truncated_log();

  JobServices services_;
  events::v1::Envelope requested_;
  std::string build_id_;
  int attempt_;
  const CancelFlag& cancel_;
  EventOut out_;
  class LogStream* logs_ = nullptr;
  std::optional<LocalImage> local_image_;
  std::map<std::string, std::string> secrets_;  // id -> value, for RUN --mount=type=secret
  GitAuth git_auth_;                            // the builder's, or the project's from its store
};

}  // namespace kiln::builder
