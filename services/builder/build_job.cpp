#include "builder/build_job.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "builder/artifact.h"
#include "builder/build_network.h"
#include "builder/dockerfile_scan.h"
#include "builder/failure.h"
#include "builder/git_source.h"
#include "builder/leftovers.h"
#include "builder/log_stream.h"
#include "builder/metrics.h"
#include "builder/secret_masker.h"
#include "builder/secret_scan.h"
#include "builder/step_parser.h"
#include "builder/upload_source.h"
#include "bus/consumer.h"
#include "bus/retry.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "common/log.h"
#include "events/envelope.h"
#include "events/subjects.h"
#include "registry/errors.h"
#include "registry/push.h"
#include "registry/staging.h"
#include "secrets/secret_store.h"
#include "worker/build_events.h"

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

SecretMasker masker_for(const BuilderOptions& options,
                        const std::map<std::string, std::string>& secrets) {
  SecretMasker masker;
  for (const auto& [id, value] : secrets) masker.add(value);
  for (const auto& [host, credential] : options.git_credentials) {
    masker.add(credential);
    const auto colon = credential.find(':');
    if (colon != std::string::npos) masker.add(credential.substr(colon + 1));
  }
  return masker;
}

// Secrets reach the build as files only it reads, never as arguments.
std::map<std::string, std::string> write_secrets(
    const std::string& dir, const std::map<std::string, std::string>& secrets) {
  std::map<std::string, std::string> files;
  fs::create_directories(dir);
  chmod(dir.c_str(), 0700);
  for (const auto& [id, value] : secrets) {
    const std::string file = dir + "/" + id;
    std::ofstream(file, std::ios::trunc) << value;
    chmod(file.c_str(), 0600);
    files[id] = file;
  }
  return files;
}

// How a child run's failure is worded. Pull, build and export word it differently, and a stopped
// build reports its own exit code where a stopped pull or export reports 143 or 1.
struct RunWords {
  std::string cancelled{};      // the reason when cancelled
  std::string timed_out{};      // ends "build exceeded its timeout of N s"
  std::string failed{};         // comes before the output's reason on a non-zero exit
  std::string_view fallback{};  // the reason when the output gives none
  bool own_exit_code = false;   // a cancelled or timed-out run reports its own exit code
};

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

struct BuildJob::State {
  State(const BuildJob& job, Clock::time_point start, std::string work_dir,
        const SecretMasker& secret_masker, LogStream& logs);

  // A failure whose reason may quote the source, an image or the output: secrets masked.
  Failure failed(v1::Stage stage, const std::string& reason, int exit_code = 1) const {
    return Failure{stage, masker.mask(reason), exit_code, false};
  }
  // The failure a child run ended in, if it did not succeed.
  std::optional<Failure> classify(const RunOutcome& run, const RunWords& words) const;

  const v1::BuildRequested& request;
  const v1::BuildSpec& spec;
  const Clock::time_point begin;
  const int timeout_seconds;
  const RunControl control;
  const SecretMasker& masker;
  const std::string work;
  const std::string source_dir;
  OutputTail tail;
  const LineSink sink;  // a child's output: to the log, and to the tail for reasons

  std::string resolved_commit;  // Git sources only
  std::string dockerfile_rel;
  DockerfileScan scan;
  BuildRequest build;  // filled by the context, bases and prepare phases
  int steps_seen = 0;
  int steps_cached = 0;
  std::string image_id;
  std::int64_t build_started_ms = 0;
  std::string layout_tmp;
  std::optional<TreeGuard> layout_guard;
  v1::ImageBuilt built;
};

BuildJob::State::State(const BuildJob& job, Clock::time_point start, std::string work_dir,
                       const SecretMasker& secret_masker, LogStream& logs)
    : request(job.requested_.requested()),
      spec(request.spec()),
      begin(start),
      timeout_seconds(spec.timeout_seconds() > 0 ? spec.timeout_seconds()
                                                 : job.services_.options.timeout_seconds),
      control{begin + std::chrono::seconds(timeout_seconds), &job.cancel_},
      masker(secret_masker),
      work(std::move(work_dir)),
      source_dir(work + "/src"),
      sink([&logs, this](OutputStream stream, std::string_view line) {
        logs.add(stream == OutputStream::kStdout ? "stdout" : "stderr", line);
        tail.add(masker.mask(line));
      }) {}

std::optional<Failure> BuildJob::State::classify(const RunOutcome& run,
                                                 const RunWords& words) const {
  if (run.cancelled) {
    return Failure{v1::BUILD, words.cancelled, words.own_exit_code ? run.exit_code : 143, true};
  }
  if (run.timed_out) {
    return failed(
        v1::TIMEOUT,
        "build exceeded its timeout of " + std::to_string(timeout_seconds) + " s" + words.timed_out,
        words.own_exit_code ? run.exit_code : 1);
  }
  if (run.exit_code != 0) {
    return failed(v1::BUILD, words.failed + tail.reason(words.fallback), run.exit_code);
  }
  return std::nullopt;
}

Result<BuildJob::Outcome> BuildJob::run(const std::atomic<bool>& handing_back) {
  const auto begin = Clock::now();
  auto secrets_failure = gather_secrets();
  if (!secrets_failure.ok()) return secrets_failure.error();
  SecretMasker masker = masker_for(services_.options, secrets_);
  if (!git_auth_.repository_credential.empty()) {
    masker.add(git_auth_.repository_credential);
    const auto colon = git_auth_.repository_credential.find(':');
    if (colon != std::string::npos) masker.add(git_auth_.repository_credential.substr(colon + 1));
  }
  auto first_line = next_log_line(services_.bus, build_id_);
  if (!first_line.ok()) return first_line.error();
  LogStream logs(services_.bus, build_id_, masker, *first_line, services_.options.log_max_bytes);
  logs_ = &logs;
  struct ResetLogs {
    BuildJob* job;
    ~ResetLogs() {
      job->note_truncated_log();
      job->logs_ = nullptr;
    }
  } reset_logs{this};

  std::string work = services_.options.work_dir + "/" + build_id_ + "-" + std::to_string(attempt_) +
                     "-" + random_id().substr(0, 8);
  TreeGuard work_guard(work);
  // Taken after the guard, so released before the tree goes: a sweeping builder never removes a
  // directory whose build is alive.
  const WorkDirLock work_lock(work);
  State state(*this, begin, std::move(work), masker, logs);
  if (*secrets_failure) return finish_failed(**secrets_failure, handing_back);

  auto fetched = fetch_source(state);
  if (!fetched.ok()) return fetched.error();
  if (*fetched) return finish_failed(**fetched, handing_back);
  if (auto failure = check_context(state)) return finish_failed(*failure, handing_back);
  if (auto failure = check_platform(state)) return finish_failed(*failure, handing_back);
  if (auto failure = pull_bases(state)) return finish_failed(*failure, handing_back);
  warm_shared_cache(state);
  prepare_build(state);
  if (auto failure = build_image(state)) return finish_failed(*failure, handing_back);
  if (auto failure = export_layout(state)) return finish_failed(*failure, handing_back);
  auto outcome = finish_built(state, handing_back);
  logs.close();
  if (outcome.ok() && *outcome == Outcome::kBuilt) {
    local_image_ = LocalImage{state.image_id, state.build_started_ms};
  }
  return outcome;
}

Result<std::optional<Failure>> BuildJob::gather_secrets() {
  using Gathered = Result<std::optional<Failure>>;
  secrets_ = services_.options.secrets;
  git_auth_ = GitAuth{services_.options.git_credentials, services_.options.git_ssh_key, {}};
  if (auto failure = gather_store_secrets()) return Gathered(std::move(failure));
  const auto& ids = requested_.requested().spec().secret_ids();
  if (ids.empty()) return Gathered(std::nullopt);
  auto* store = services_.build_secrets;
  if (store == nullptr) {
    return Gathered(Failure{v1::BUILD,
                            "this build was given secrets, but builder " + services_.producer +
                                " has no secrets.key-file to open them",
                            1, false});
  }
  for (const auto& id : ids) {
    auto value = bus::retry_transient(kPublishWindow, [&] { return store->get(build_id_, id); });
    if (!value.ok()) {
      if (value.error().code == ErrorCode::kPermissionDenied) {
        return Gathered(
            Failure{v1::BUILD, "build secret '" + id + "': " + value.error().message, 1, false});
      }
      return value.error();
    }
    if (!value->has_value()) {
      return Gathered(Failure{v1::BUILD,
                              "build secret '" + id +
                                  "' is no longer stored (a build's secrets are kept for a day "
                                  "and deleted when it ends); request the build again with it",
                              1, false});
    }
    secrets_[id] = std::move(**value);
  }
  return Gathered(std::nullopt);
}

std::optional<Failure> BuildJob::gather_store_secrets() {
  const auto& request = requested_.requested();
  const auto& spec = request.spec();
  const secrets::SecretStore store(services_.options.secrets_dir);
  auto failure = [](const Error& error) { return Failure{v1::FETCH, error.message, 1, false}; };
  for (const auto& name : spec.store_secrets()) {
    auto value = store.read(request.tenant(), name);
    if (!value.ok()) return failure(value.error());
    secrets_[name] = std::move(*value);
  }
  if (auto name = secrets::store_ref_name(spec.git_credentials_ref())) {
    auto value = store.read(request.tenant(), *name);
    if (!value.ok()) return failure(value.error());
    git_auth_.repository_credential = std::move(*value);
  }
  if (auto name = secrets::store_ref_name(spec.git_ssh_key_ref())) {
    auto path = store.path(request.tenant(), *name);
    if (!path.ok()) return failure(path.error());
    if (!std::filesystem::exists(*path)) {
      return failure(make_error(ErrorCode::kNotFound, "SSH key " + *name + " is not in tenant " +
                                                          request.tenant() + "'s store"));
    }
    git_auth_.ssh_key = *path;
  }
  return std::nullopt;
}

void BuildJob::note_truncated_log() {
  const std::int64_t dropped = logs_->dropped_lines();
  if (dropped == 0) return;
  services_.metrics.counter_add(metric::kLogsTruncated);
  log::warn("build log truncated at build.log-max-bytes",
            {{"build_id", build_id_},
             {"attempt", attempt_},
             {"max_bytes", services_.options.log_max_bytes},
             {"dropped_lines", dropped}});
}

Result<std::optional<Failure>> BuildJob::fetch_source(State& state) {
  using Fetched = Result<std::optional<Failure>>;
  const auto& request = state.request;
  if (request.has_git()) {
    const auto& git = request.git();
    // `started` carries the resolved commit: a pinned one is known before the fetch.
    const bool pinned = !git.commit().empty();
    if (pinned) {
      if (auto s = publish_started(git.commit()); !s.ok()) return s.error();
    }
    kiln_line("fetching " + git.repo_url() + " " + (pinned ? git.commit() : git.ref()));
    std::string commit;
    if (auto failure =
            fetch_git(git, state.source_dir, git_auth_, state.sink, state.control, commit)) {
      failure->reason = state.masker.mask(failure->reason);
      return Fetched(std::move(failure));
    }
    if (!pinned) {
      if (auto s = publish_started(commit); !s.ok()) return s.error();
    }
    state.resolved_commit = commit;
    return Fetched(std::nullopt);
  }
  if (request.has_upload()) {
    if (auto s = publish_started(""); !s.ok()) return s.error();
    return Fetched(fetch_upload(services_.bus, request.upload(), state.source_dir, state.spec,
                                state.sink, state.control));
  }
  return Fetched(
      state.failed(v1::FETCH, "the build request has neither a Git nor an uploaded source"));
}

Status BuildJob::publish_started(const std::string& commit) {
  auto envelope = out_.envelope();
  auto* started = envelope.mutable_started();
  started->set_worker_id(services_.options.worker_id);
  started->set_attempt(attempt_);
  started->set_resolved_commit(commit);
  auto ack = out_.publish(envelope);
  if (!ack.ok()) return ack.error();
  kiln_line("build " + build_id_ + " attempt " + std::to_string(attempt_) + " started on " +
            services_.options.worker_id);
  return {};
}

std::optional<Failure> BuildJob::check_context(State& state) {
  const auto& spec = state.spec;
  const std::string context_rel = spec.context().empty() ? "." : spec.context();
  state.dockerfile_rel = spec.dockerfile().empty() ? "Dockerfile" : spec.dockerfile();
  if (!safe_relative(context_rel) || !safe_relative(state.dockerfile_rel)) {
    return state.failed(v1::FETCH,
                        "context and Dockerfile must be relative paths inside the source");
  }
  state.build.context_dir = state.source_dir + "/" + context_rel;
  state.build.dockerfile = state.build.context_dir + "/" + state.dockerfile_rel;
  if (!fs::is_directory(state.build.context_dir)) {
    return state.failed(v1::FETCH, "context directory " + context_rel + " not found in the source");
  }
  if (!fs::is_regular_file(state.build.dockerfile)) {
    return state.failed(v1::FETCH, "Dockerfile " + (context_rel == "." ? "" : context_rel + "/") +
                                       state.dockerfile_rel + " not found in the source");
  }
  return std::nullopt;
}

// This builder builds for its own platform only (no emulation here).
std::optional<Failure> BuildJob::check_platform(const State& state) {
  const auto& options = services_.options;
  for (const auto& platform : state.spec.platforms()) {
    if (platform != options.platform) {
      return state.failed(v1::BUILD, "platform " + platform +
                                         " cannot be built here: this builder builds " +
                                         options.platform + " only (no emulation installed)");
    }
  }
  return std::nullopt;
}

// Base images are pulled now so the build itself needs no network.
std::optional<Failure> BuildJob::pull_bases(State& state) {
  std::stringstream dockerfile_text;
  dockerfile_text << std::ifstream(state.build.dockerfile).rdbuf();
  state.build.build_args = std::map<std::string, std::string>(state.spec.build_args().begin(),
                                                              state.spec.build_args().end());
  state.scan = scan_dockerfile(dockerfile_text.str(), state.build.build_args, state.spec.target());
  for (const auto& image : state.scan.base_images) {
    if (cancel_.cancelled()) break;
    kiln_line("pulling " + image);
    auto pulled = services_.engine.pull(image, state.sink, state.control);
    if (!pulled.ok()) {
      return state.failed(v1::BUILD, "pull " + image + ": " + pulled.error().describe());
    }
    if (auto failure =
            state.classify(*pulled, {.cancelled = "cancelled",
                                     .timed_out = " while pulling " + image,
                                     .failed = "pulling base image " + image + " failed: "})) {
      return failure;
    }
  }
  if (cancel_.cancelled()) return Failure{v1::BUILD, "cancelled", 143, true};
  return std::nullopt;
}

void BuildJob::warm_shared_cache(State& state) {
  SharedCache& cache = services_.shared_cache;
  const std::string& project = state.request.project();
  if (!cache.enabled() || project.empty() || state.spec.no_cache() || cancel_.cancelled()) return;
  // `pull --quiet` prints only image ids: nothing a reader of the build log needs.
  const LineSink quiet = [](OutputStream, std::string_view) {};
  auto pulled = cache.warm(project, quiet, state.control);
  if (!pulled.ok()) {
    services_.metrics.counter_add(metric::kSharedCacheErrors, {{"operation", "warm"}});
    log::warn("shared layer cache not read; building with the local cache only",
              {{"build_id", build_id_}, {"error", pulled.error().describe()}});
    kiln_line("shared layer cache not reachable; building with this builder's cache only");
    return;
  }
  if (*pulled > 0) {
    kiln_line("shared layer cache: " + std::to_string(*pulled) +
              " step images pulled from other builders' builds");
  }
}

void BuildJob::prepare_build(State& state) {
  BuildRequest& build = state.build;
  build.target = state.spec.target();
  build.no_cache = state.spec.no_cache();
  build.network = state.spec.network();
  build.iid_file = state.work + "/iid";
  build.labels =
      std::map<std::string, std::string>(state.spec.labels().begin(), state.spec.labels().end());
  build.annotations = {
      {"org.opencontainers.image.created", format_time_ms(now_ms())},
      {"io.kiln.build-id", build_id_},
  };
  if (state.request.has_git()) {
    build.annotations["org.opencontainers.image.source"] = state.request.git().repo_url();
  }
  if (!secrets_.empty()) build.secret_files = write_secrets(state.work + "/secrets", secrets_);
  if (!state.resolved_commit.empty()) {
    build.annotations["org.opencontainers.image.revision"] = state.resolved_commit;
  }
}

// Steps are published live, as buildah prints them.
std::optional<Failure> BuildJob::build_image(State& state) {
  StepParser steps(state.scan.instructions);
  const LineSink build_sink = [&](OutputStream stream, std::string_view line) {
    state.sink(stream, line);
    const std::string masked = state.masker.mask(line);
    for (const auto& step : steps.feed(masked, now_ms())) publish_step(step);
  };
  std::unique_ptr<BuildNetwork> network;
  if (state.build.network) {
    auto created = BuildNetwork::create(services_.options.network_blocked);
    if (!created.ok()) {
      return state.failed(v1::BUILD, "network for RUN steps: " + created.error().describe());
    }
    network = std::move(created.value());
    state.build.network_namespace = network->path();
  }
  kiln_line("building " + state.dockerfile_rel +
            (state.build.network ? " (network on, without the host)" : " (no network)"));
  state.build_started_ms = now_ms();
  auto built_run = services_.engine.build(state.build, build_sink, state.control);
  if (!built_run.ok()) return state.failed(v1::BUILD, built_run.error().describe());
  if (auto failure = state.classify(*built_run, {.cancelled = "cancelled while building",
                                                 .fallback = "buildah bud failed",
                                                 .own_exit_code = true})) {
    return failure;
  }
  if (auto last = steps.finish(now_ms())) publish_step(*last);
  state.steps_seen = steps.steps_seen();
  state.steps_cached = steps.steps_cached();
  state.image_id = read_first_line(state.build.iid_file);
  if (state.image_id.empty()) return state.failed(v1::BUILD, "buildah wrote no image id");
  return std::nullopt;
}

void BuildJob::publish_step(const StepEvent& step) {
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
    services_.metrics.counter_add(metric::kSteps, {{"cached", step.cached ? "true" : "false"}});
  }
  auto ack = out_.publish(envelope, suffix);
  if (!ack.ok()) {
    // A lost step event costs detail, not the build; it is logged and counted.
    services_.metrics.counter_add(metric::kEventPublishErrors);
    log::warn("step event not published",
              {{"build_id", build_id_}, {"error", ack.error().describe()}});
  }
}

// The image is exported as an OCI layout of this builder's own, checked for leaked secrets.
std::optional<Failure> BuildJob::export_layout(State& state) {
  const auto& options = services_.options;
  fs::create_directories(options.artifacts_dir);
  state.layout_tmp = fs::absolute(options.artifacts_dir).string() + "/.tmp-" + build_id_ + "-" +
                     random_id().substr(0, 8);
  state.layout_guard.emplace(state.layout_tmp);
  auto exported =
      services_.engine.export_oci(state.image_id, state.layout_tmp, state.sink, state.control);
  if (!exported.ok()) return state.failed(v1::BUILD, exported.error().describe());
  if (auto failure = state.classify(*exported, {.cancelled = "cancelled while exporting",
                                                .timed_out = " while exporting the image",
                                                .failed = "exporting the OCI layout failed: "})) {
    return failure;
  }
  if (auto annotated = annotate_layout(state.layout_tmp, state.build.annotations);
      !annotated.ok()) {
    return state.failed(v1::BUILD, annotated.error().describe());
  }
  auto leaked = find_secret_in_image(state.layout_tmp, secrets_);
  if (!leaked.ok()) return state.failed(v1::BUILD, leaked.error().describe());
  if (leaked->has_value()) {
    return state.failed(v1::BUILD,
                        "the image holds the value of build secret '" + (*leaked)->secret_id +
                            "' (in blob " + (*leaked)->blob_digest +
                            "); a secret must not be written into a layer, so it is not pushed");
  }
  if (auto described = describe_layout(state.layout_tmp, state.built); !described.ok()) {
    return state.failed(v1::BUILD, described.error().describe());
  }
  return std::nullopt;
}

Result<BuildJob::Outcome> BuildJob::finish_built(State& state,
                                                 const std::atomic<bool>& handing_back) {
  // Another attempt may have finished meanwhile: then nothing is staged.
  auto existing = bus::retry_transient(
      kPublishWindow, [&] { return worker::has_event(services_.bus, "built", build_id_); });
  if (!existing.ok()) return existing.error();
  if (*existing) return Outcome::kAlreadyBuilt;
  auto staged = stage_image(state);
  if (!staged.ok()) return staged.error();
  if (staged->has_value()) return finish_failed(**staged, handing_back);

  const auto duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - state.begin).count();
  state.built.set_steps_total(state.steps_seen);
  state.built.set_steps_cached(state.steps_cached);
  state.built.set_build_duration_ms(duration_ms);
  state.built.set_attempt(attempt_);
  auto outcome = publish_built(std::move(state.built));
  if (outcome.ok() && *outcome == Outcome::kBuilt) {
    services_.metrics.observe(metric::kBuildDuration, static_cast<double>(duration_ms) / 1000.0);
    kiln_line("built " + build_id_ + " in " + std::to_string(duration_ms) + " ms");
  }
  return outcome;
}

Result<std::optional<Failure>> BuildJob::stage_image(State& state) {
  const auto& staging = services_.options.staging;
  auto client = services_.registries.get(staging.registry);
  if (!client.ok()) {
    return std::optional<Failure>(state.failed(
        v1::BUILD, "staging registry " + staging.registry + ": " + client.error().describe()));
  }
  // A tag of this attempt's own: two attempts of one build can finish at the same moment (a
  // redelivered attempt racing its re-dispatch), and the one that loses the `built` fence must
  // never touch what the winner's event points at.
  const std::string tag =
      registry::staging_tag(build_id_, attempt_, now_ms() / 1000, random_id().substr(0, 8));
  registry::PushRequest request;
  request.layout_dir = state.layout_tmp;
  request.ref_name = "latest";
  request.repository = staging.repository;
  request.tags = {tag};
  request.cancel = [this] { return cancel_.cancelled(); };
  kiln_line("staging the image for the pushers at " + staging.registry + "/" + staging.repository +
            ":" + tag);
  auto report = registry::push_layout(**client, request);
  if (!report.ok()) {
    const Error& error = report.error();
    if (error.code == ErrorCode::kCancelled) {
      return std::optional<Failure>(Failure{v1::BUILD, "cancelled while staging", 143, true});
    }
    if (registry::is_retryable(error)) {
      log::warn("staging registry unavailable; the build is tried again",
                {{"build_id", build_id_}, {"error", error.describe()}});
      return error;
    }
    return std::optional<Failure>(
        state.failed(v1::BUILD, "staging the image failed: " + error.describe()));
  }
  if (report->manifest_digest != state.built.manifest_digest()) {
    v1::StagedImage wrong;
    wrong.set_registry(staging.registry);
    wrong.set_repository(staging.repository);
    wrong.set_tag(tag);
    unstage(wrong, report->manifest_digest);
    return std::optional<Failure>(
        state.failed(v1::BUILD, "the staged manifest " + report->manifest_digest +
                                    " is not the built one " + state.built.manifest_digest()));
  }
  auto* staged = state.built.mutable_staged();
  staged->set_registry(staging.registry);
  staged->set_repository(staging.repository);
  staged->set_tag(tag);
  services_.metrics.counter_add(metric::kStagedBytes, {},
                                static_cast<double>(report->bytes_uploaded));
  return std::optional<Failure>{};
}

void BuildJob::unstage(const v1::StagedImage& staged, const std::string& digest) {
  auto client = services_.registries.get(staged.registry());
  if (!client.ok()) return;
  if (auto s = (*client)->delete_manifest(staged.repository(), digest); !s.ok()) {
    log::warn("staged image of a lost attempt not deleted",
              {{"build_id", build_id_}, {"error", s.error().describe()}});
  }
}

Result<BuildJob::Outcome> BuildJob::publish_built(v1::ImageBuilt built) {
  auto envelope = out_.envelope();
  *envelope.mutable_built() = std::move(built);
  // Expected last sequence 0: a late second attempt cannot add a second `built`.
  auto ack = out_.publish(envelope, {}, std::uint64_t{0});
  if (!ack.ok()) {
    // After any error but the fence the event may still have been stored: the staged image
    // stays, and the build is looked at again.
    if (ack.error().code != ErrorCode::kFailedPrecondition) return ack.error();
    return fenced(envelope.built());
  }
  services_.metrics.counter_add(metric::kBuilds, {{"outcome", "built"}});
  log::info("build built", {{"build_id", build_id_},
                            {"attempt", attempt_},
                            {"manifest_digest", envelope.built().manifest_digest()},
                            {"staged", envelope.built().staged().tag()},
                            {"duration_ms", envelope.built().build_duration_ms()}});
  return Outcome::kBuilt;
}

Result<BuildJob::Outcome> BuildJob::fenced(const v1::ImageBuilt& mine) {
  auto stored = bus::retry_transient(
      kPublishWindow, [&] { return worker::stored_event(services_.bus, "built", build_id_); });
  if (!stored.ok()) return stored.error();
  // A leader checks the fence against messages still in flight too; one lost in a leader change
  // fences others without ever being stored. Then the fence proved nothing: try again later.
  if (!stored->has_value()) {
    return make_error(ErrorCode::kUnavailable,
                      "the built fence refused this attempt, yet no built is stored");
  }
  const v1::ImageBuilt& winner = (*stored)->built();
  // Our own first try, stored although its answer was lost: this attempt built it.
  if (winner.staged().tag() == mine.staged().tag()) return Outcome::kBuilt;
  // A manifest delete removes every tag pointing at it: never the winner's.
  if (winner.manifest_digest() != mine.manifest_digest()) {
    unstage(mine.staged(), mine.manifest_digest());
  }
  log::warn("another attempt already published built", {{"build_id", build_id_}});
  return Outcome::kAlreadyBuilt;
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
  services_.metrics.counter_add(metric::kBuilds, {{"outcome", outcome}});
  log::info("build " + outcome, {{"build_id", build_id_},
                                 {"attempt", attempt_},
                                 {"stage", std::string(events::stage_name(failure.stage))},
                                 {"reason", failure.reason},
                                 {"exit_code", failure.exit_code}});
  return failure.cancelled ? Outcome::kCancelled : Outcome::kFailed;
}

}  // namespace kiln::builder
