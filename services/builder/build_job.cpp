#include "builder/build_job.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "builder/artifact.h"
#include "builder/dockerfile_scan.h"
#include "builder/failure.h"
#include "builder/git_source.h"
#include "builder/leftovers.h"
#include "builder/log_stream.h"
#include "builder/secret_masker.h"
#include "builder/secret_scan.h"
#include "builder/step_parser.h"
#include "builder/upload_source.h"
#include "bus/consumer.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "common/log.h"
#include "events/envelope.h"
#include "events/subjects.h"

namespace kiln::builder {
namespace {

namespace fs = std::filesystem;
namespace v1 = events::v1;
using Clock = std::chrono::steady_clock;

// Removes a directory tree when the scope ends, whatever way the job ends.
class TreeGuard {
 public:
  explicit TreeGuard(std::string path) : path_(std::move(path)) {}
  ~TreeGuard() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  void release() { path_.clear(); }

 private:
  std::string path_;
};

// A relative path that stays inside its root: no absolute path, no "..".
bool safe_relative(const std::string& path) {
  if (path.empty() || path.front() == '/') return false;
  for (const auto& part : fs::path(path)) {
    if (part == "..") return false;
  }
  return true;
}

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

SecretMasker masker_for(const BuilderOptions& options) {
  SecretMasker masker;
  for (const auto& [id, value] : options.secrets) masker.add(value);
  for (const auto& [host, credential] : options.git_credentials) {
    masker.add(credential);
    const auto colon = credential.find(':');
    if (colon != std::string::npos) masker.add(credential.substr(colon + 1));
  }
  return masker;
}

}  // namespace

BuildJob::BuildJob(JobServices services, v1::Envelope requested, int attempt,
                   const CancelFlag& cancel)
    : services_(std::move(services)),
      requested_(std::move(requested)),
      build_id_(requested_.build_id()),
      attempt_(attempt),
      cancel_(cancel),
      out_(services_.bus, services_.producer, build_id_, attempt) {}

void BuildJob::kiln_line(const std::string& text) {
  if (logs_ != nullptr) logs_->add("kiln", text);
}

Result<BuildJob::Outcome> BuildJob::run(const std::atomic<bool>& handing_back) {
  const auto begin = Clock::now();
  const auto& request = requested_.requested();
  const auto& spec = request.spec();
  const auto& options = services_.options;
  const int timeout_seconds =
      spec.timeout_seconds() > 0 ? spec.timeout_seconds() : options.timeout_seconds;
  const RunControl control{begin + std::chrono::seconds(timeout_seconds), &cancel_};

  const SecretMasker masker = masker_for(options);
  auto first_line = next_log_line(services_.bus, build_id_);
  if (!first_line.ok()) return first_line.error();
  LogStream logs(services_.bus, build_id_, masker, *first_line);
  logs_ = &logs;
  struct ResetLogs {
    BuildJob* job;
    ~ResetLogs() { job->logs_ = nullptr; }
  } reset_logs{this};

  const std::string work = options.work_dir + "/" + build_id_ + "-" + std::to_string(attempt_) +
                           "-" + random_id().substr(0, 8);
  TreeGuard work_guard(work);
  // Taken after the guard, so released before the tree goes: a sweeping builder never removes a
  // directory whose build is alive.
  const WorkDirLock work_lock(work);
  OutputTail tail;
  const LineSink sink = [&logs, &tail, &masker](OutputStream stream, std::string_view line) {
    logs.add(stream == OutputStream::kStdout ? "stdout" : "stderr", line);
    tail.add(masker.mask(line));
  };
  auto fail = [&](v1::Stage stage, const std::string& reason, int exit_code = 1) {
    return finish_failed(Failure{stage, masker.mask(reason), exit_code, false}, handing_back);
  };
  auto publish_started = [&](const std::string& commit) -> Status {
    auto envelope = out_.envelope();
    auto* started = envelope.mutable_started();
    started->set_worker_id(options.worker_id);
    started->set_attempt(attempt_);
    started->set_resolved_commit(commit);
    auto ack = out_.publish(envelope);
    if (!ack.ok()) return ack.error();
    kiln_line("build " + build_id_ + " attempt " + std::to_string(attempt_) + " started on " +
              options.worker_id);
    return {};
  };

  // ---- source
  const std::string source_dir = work + "/src";
  bool started_published = false;
  std::string resolved_commit;
  if (request.has_git() && !request.git().commit().empty()) {
    if (auto s = publish_started(request.git().commit()); !s.ok()) return s.error();
    started_published = true;
  }
  if (request.has_git()) {
    kiln_line("fetching " + request.git().repo_url() + " " +
              (request.git().commit().empty() ? request.git().ref() : request.git().commit()));
    std::string commit;
    const GitAuth auth{options.git_credentials, options.git_ssh_key};
    if (auto failure = fetch_git(request.git(), source_dir, auth, sink, control, commit)) {
      failure->reason = masker.mask(failure->reason);
      return finish_failed(*failure, handing_back);
    }
    if (!started_published) {
      if (auto s = publish_started(commit); !s.ok()) return s.error();
    }
    resolved_commit = commit;
  } else if (request.has_upload()) {
    if (auto s = publish_started(""); !s.ok()) return s.error();
    if (auto failure =
            fetch_upload(services_.bus, request.upload(), source_dir, spec, sink, control)) {
      return finish_failed(*failure, handing_back);
    }
  } else {
    return fail(v1::FETCH, "the build request has neither a Git nor an uploaded source");
  }

  // ---- context and Dockerfile
  const std::string context_rel = spec.context().empty() ? "." : spec.context();
  const std::string dockerfile_rel = spec.dockerfile().empty() ? "Dockerfile" : spec.dockerfile();
  if (!safe_relative(context_rel) || !safe_relative(dockerfile_rel)) {
    return fail(v1::FETCH, "context and Dockerfile must be relative paths inside the source");
  }
  const std::string context_dir = source_dir + "/" + context_rel;
  const std::string dockerfile = context_dir + "/" + dockerfile_rel;
  if (!fs::is_directory(context_dir)) {
    return fail(v1::FETCH, "context directory " + context_rel + " not found in the source");
  }
  if (!fs::is_regular_file(dockerfile)) {
    return fail(v1::FETCH, "Dockerfile " + (context_rel == "." ? "" : context_rel + "/") +
                               dockerfile_rel + " not found in the source");
  }

  // ---- platform: this builder builds for its own platform only (no emulation here)
  for (const auto& platform : spec.platforms()) {
    if (platform != options.platform) {
      return fail(v1::BUILD, "platform " + platform + " cannot be built here: this builder " +
                                 "builds " + options.platform + " only (no emulation installed)");
    }
  }

  // ---- base images, pulled now so the build itself needs no network
  std::stringstream dockerfile_text;
  dockerfile_text << std::ifstream(dockerfile).rdbuf();
  const std::map<std::string, std::string> build_args(spec.build_args().begin(),
                                                      spec.build_args().end());
  const DockerfileScan scan = scan_dockerfile(dockerfile_text.str(), build_args, spec.target());
  for (const auto& image : scan.base_images) {
    if (cancel_.cancelled()) break;
    kiln_line("pulling " + image);
    auto pulled = services_.engine.pull(image, sink, control);
    if (!pulled.ok()) return fail(v1::BUILD, "pull " + image + ": " + pulled.error().describe());
    if (pulled->cancelled)
      return finish_failed(Failure{v1::BUILD, "cancelled", 143, true}, handing_back);
    if (pulled->timed_out) {
      return fail(v1::TIMEOUT, "build exceeded its timeout of " + std::to_string(timeout_seconds) +
                                   " s while pulling " + image);
    }
    if (pulled->exit_code != 0) {
      return fail(v1::BUILD, "pulling base image " + image + " failed: " + tail.reason(""),
                  pulled->exit_code);
    }
  }
  if (cancel_.cancelled()) {
    return finish_failed(Failure{v1::BUILD, "cancelled", 143, true}, handing_back);
  }

  // ---- secrets: files only the build reads, never arguments
  BuildRequest build;
  build.context_dir = context_dir;
  build.dockerfile = dockerfile;
  build.build_args = build_args;
  build.target = spec.target();
  build.no_cache = spec.no_cache();
  build.network = spec.network();
  build.iid_file = work + "/iid";
  build.annotations = {
      {"org.opencontainers.image.created", format_time_ms(now_ms())},
      {"io.kiln.build-id", build_id_},
  };
  if (request.has_git()) {
    build.annotations["org.opencontainers.image.source"] = request.git().repo_url();
  }
  if (!options.secrets.empty()) {
    const std::string secrets_dir = work + "/secrets";
    fs::create_directories(secrets_dir);
    chmod(secrets_dir.c_str(), 0700);
    for (const auto& [id, value] : options.secrets) {
      const std::string file = secrets_dir + "/" + id;
      std::ofstream(file, std::ios::trunc) << value;
      chmod(file.c_str(), 0600);
      build.secret_files[id] = file;
    }
  }
  if (!resolved_commit.empty()) {
    build.annotations["org.opencontainers.image.revision"] = resolved_commit;
  }

  // ---- build, with live steps
  StepParser steps(scan.instructions);
  auto publish_step = [this](const StepEvent& step) {
    auto envelope = out_.envelope();
    const std::string suffix = std::to_string(step.step);
    if (step.kind == StepEvent::Kind::kStarted) {
      auto* started = envelope.mutable_step_started();
      started->set_step(step.step);
      started->set_total(step.total);
      started->set_instruction(step.instruction);
    } else {
      auto* finished = envelope.mutable_step_finished();
      finished->set_step(step.step);
      finished->set_total(step.total);
      finished->set_instruction(step.instruction);
      finished->set_cached(step.cached);
      finished->set_duration_ms(step.duration_ms);
      finished->set_layer_digest(step.layer_digest);
      services_.metrics.counter_add("kiln_builder_steps_total",
                                    "Build steps finished, by cache use",
                                    {{"cached", step.cached ? "true" : "false"}});
    }
    auto ack = out_.publish(envelope, suffix);
    if (!ack.ok()) {
      // A lost step event costs detail, not the build; it is logged and counted.
      services_.metrics.counter_add("kiln_builder_event_publish_errors_total",
                                    "Step events that could not be published");
      log::warn("step event not published",
                {{"build_id", build_id_}, {"error", ack.error().describe()}});
    }
  };
  const LineSink build_sink = [&](OutputStream stream, std::string_view line) {
    sink(stream, line);
    const std::string masked = masker.mask(line);
    for (const auto& step : steps.feed(masked, now_ms())) publish_step(step);
  };
  kiln_line("building " + dockerfile_rel + (build.network ? " (network on)" : " (no network)"));
  auto built_run = services_.engine.build(build, build_sink, control);
  if (!built_run.ok()) return fail(v1::BUILD, built_run.error().describe());
  if (built_run->cancelled) {
    return finish_failed(Failure{v1::BUILD, "cancelled while building", built_run->exit_code, true},
                         handing_back);
  }
  if (built_run->timed_out) {
    return fail(v1::TIMEOUT,
                "build exceeded its timeout of " + std::to_string(timeout_seconds) + " s",
                built_run->exit_code);
  }
  if (built_run->exit_code != 0) {
    return fail(v1::BUILD, tail.reason("buildah bud failed"), built_run->exit_code);
  }
  if (auto last = steps.finish(now_ms())) publish_step(*last);
  const std::string image_id = read_first_line(build.iid_file);
  if (image_id.empty()) return fail(v1::BUILD, "buildah wrote no image id");

  // ---- export as an OCI layout into the artifact store
  fs::create_directories(options.artifacts_dir);
  const std::string layout_tmp = fs::absolute(options.artifacts_dir).string() + "/.tmp-" +
                                 build_id_ + "-" + random_id().substr(0, 8);
  TreeGuard tmp_guard(layout_tmp);
  auto exported = services_.engine.export_oci(image_id, layout_tmp, sink, control);
  if (!exported.ok()) return fail(v1::BUILD, exported.error().describe());
  if (exported->cancelled) {
    return finish_failed(Failure{v1::BUILD, "cancelled while exporting", 143, true}, handing_back);
  }
  if (exported->timed_out) {
    return fail(v1::TIMEOUT, "build exceeded its timeout of " + std::to_string(timeout_seconds) +
                                 " s while exporting the image");
  }
  if (exported->exit_code != 0) {
    return fail(v1::BUILD, "exporting the OCI layout failed: " + tail.reason(""),
                exported->exit_code);
  }
  if (auto annotated = annotate_layout(layout_tmp, build.annotations); !annotated.ok()) {
    return fail(v1::BUILD, annotated.error().describe());
  }
  auto leaked = find_secret_in_image(layout_tmp, options.secrets);
  if (!leaked.ok()) return fail(v1::BUILD, leaked.error().describe());
  if (leaked->has_value()) {
    return fail(v1::BUILD, "the image holds the value of build secret '" + (*leaked)->secret_id +
                               "' (in blob " + (*leaked)->blob_digest +
                               "); a secret must not be written into a layer, so it is not pushed");
  }
  v1::ImageBuilt built;
  if (auto described = describe_layout(layout_tmp, built); !described.ok()) {
    return fail(v1::BUILD, described.error().describe());
  }
  const auto duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin).count();
  built.set_steps_total(steps.steps_seen());
  built.set_steps_cached(steps.steps_cached());
  built.set_build_duration_ms(duration_ms);
  built.set_attempt(attempt_);
  auto outcome = publish_built(layout_tmp, std::move(built));
  if (outcome.ok() && *outcome == Outcome::kBuilt) {
    tmp_guard.release();
    services_.metrics.observe("kiln_builder_build_duration_seconds",
                              "Dispatched build duration (fetch to OCI layout)",
                              static_cast<double>(duration_ms) / 1000.0);
    kiln_line("built " + build_id_ + " in " + std::to_string(duration_ms) + " ms");
  }
  logs.close();
  return outcome;
}

Result<BuildJob::Outcome> BuildJob::publish_built(const std::string& layout_tmp,
                                                  v1::ImageBuilt built) {
  auto existing = bus::last_message(services_.bus, bus::kEventsStream,
                                    events::build_subject("built", build_id_));
  if (!existing.ok()) return existing.error();
  if (existing->has_value()) return Outcome::kAlreadyBuilt;

  // A directory of this attempt's own: two attempts of one build can finish at the same moment
  // (a redelivered attempt racing its re-dispatch), and the one that loses the `built` fence must
  // never touch the layout the winner's event points at.
  const std::string final_dir = fs::absolute(services_.options.artifacts_dir).string() + "/" +
                                build_id_ + "-" + std::to_string(attempt_) + "-" +
                                random_id().substr(0, 8);
  std::error_code ec;
  fs::rename(layout_tmp, final_dir, ec);
  if (ec) {
    return make_error(ErrorCode::kInternal,
                      "cannot move the layout to " + final_dir + ": " + ec.message());
  }
  built.set_artifact_location(final_dir);
  auto envelope = out_.envelope();
  *envelope.mutable_built() = std::move(built);
  // Expected last sequence 0: a late second attempt cannot add a second `built`.
  auto ack = out_.publish(envelope, {}, std::uint64_t{0});
  if (!ack.ok()) {
    if (ack.error().code == ErrorCode::kFailedPrecondition) {
      // Fenced: the stored `built` is another attempt's. (After any other error the event may
      // still have been stored, so the layout stays.)
      fs::remove_all(final_dir, ec);
      log::warn("another attempt already published built", {{"build_id", build_id_}});
      return Outcome::kAlreadyBuilt;
    }
    return ack.error();
  }
  services_.metrics.counter_add("kiln_builder_builds_total", "Builds by outcome",
                                {{"outcome", "built"}});
  log::info("build built", {{"build_id", build_id_},
                            {"attempt", attempt_},
                            {"manifest_digest", envelope.built().manifest_digest()},
                            {"duration_ms", envelope.built().build_duration_ms()}});
  return Outcome::kBuilt;
}

Result<BuildJob::Outcome> BuildJob::finish_failed(const Failure& failure,
                                                  const std::atomic<bool>& handing_back) {
  if (failure.cancelled && handing_back.load()) {
    kiln_line("builder shutting down; build handed back");
    return Outcome::kHandedBack;
  }
  auto envelope = out_.envelope();
  if (failure.cancelled) {
    auto* cancelled = envelope.mutable_cancelled();
    cancelled->set_stage(failure.stage);
    cancelled->set_reason(failure.reason);
  } else {
    auto* failed = envelope.mutable_failed();
    failed->set_stage(failure.stage);
    failed->set_reason(failure.reason);
    failed->set_exit_code(failure.exit_code);
    failed->set_retryable(false);
  }
  const std::string outcome = failure.cancelled ? "cancelled" : "failed";
  kiln_line(outcome + " (" + std::string(events::stage_name(failure.stage)) +
            "): " + failure.reason);
  auto ack = out_.publish(envelope);
  if (!ack.ok()) return ack.error();
  services_.metrics.counter_add("kiln_builder_builds_total", "Builds by outcome",
                                {{"outcome", outcome}});
  log::info("build " + outcome, {{"build_id", build_id_},
                                 {"attempt", attempt_},
                                 {"stage", std::string(events::stage_name(failure.stage))},
                                 {"reason", failure.reason},
                                 {"exit_code", failure.exit_code}});
  return failure.cancelled ? Outcome::kCancelled : Outcome::kFailed;
}

}  // namespace kiln::builder
