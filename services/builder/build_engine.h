// What the build pipeline needs from an image builder. BuildahEngine is the implementation;
// the interface keeps the pipeline (build_job.cpp) readable and free of command lines.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/process.h"
#include "common/result.h"

namespace kiln::builder {

using LineSink = std::function<void(OutputStream, std::string_view)>;

// Bounds every engine run: a wall-clock deadline and a cancel flag.
struct RunControl {
  std::optional<std::chrono::steady_clock::time_point> deadline;
  const CancelFlag* cancel = nullptr;
};

struct BuildRequest {
  std::string context_dir;
  std::string dockerfile;  // path of the Dockerfile
  std::map<std::string, std::string> build_args;
  std::string target;
  bool no_cache = false;
  bool network = false;           // RUN steps get network access
  std::string network_namespace;  // with network: the build's own (build_network.h), for nsenter
  std::map<std::string, std::string> labels;  // LABELs the request adds to the image
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> secret_files;  // secret id -> file holding the value
  // buildah writes the image id here. Images stay unnamed: an unnamed image is cache, and the
  // final image is also the cached last step, so removing a name would cost that step.
  std::string iid_file;
};

// How a child run ended. exit_code 0 with neither flag set is success.
struct RunOutcome {
  int exit_code = 0;
  bool timed_out = false;
  bool cancelled = false;
  bool ok() const { return exit_code == 0 && !timed_out && !cancelled; }
};

struct CacheReport {
  std::int64_t bytes_before = 0;
  std::int64_t bytes_after = 0;
  int evicted_images = 0;
};

class BuildEngine {
 public:
  virtual ~BuildEngine() = default;

  // The engine works (for /readyz): kUnavailable with the reason when not.
  virtual Status check() = 0;
  // Makes `image` available locally, so the build can run with no network. An image already
  // present is not looked up in the registry again (a tag moved there is not followed).
  virtual Result<RunOutcome> pull(const std::string& image, const LineSink& sink,
                                  const RunControl& control) = 0;
  virtual Result<RunOutcome> build(const BuildRequest& request, const LineSink& sink,
                                   const RunControl& control) = 0;
  // Writes `image` as an OCI image layout at `layout_dir` with tag `latest`.
  virtual Result<RunOutcome> export_oci(const std::string& image, const std::string& layout_dir,
                                        const LineSink& sink, const RunControl& control) = 0;
  // Bounds the cache: leftover working containers go, then the oldest images until the storage
  // is under `max_bytes`. Call only while no build runs on this storage.
  virtual Result<CacheReport> trim_cache(std::int64_t max_bytes) = 0;
  // Removes the working containers of builds that were killed with their builder. Call only
  // while no build runs on this storage (at start).
  virtual Status remove_leftover_containers() = 0;
  virtual Result<std::int64_t> cache_bytes() = 0;

  // The layer cache shared through a registry (shared_cache.h) moves whole step images:
  // the local images of the build whose final image is `image_id` (build_step_images in
  // image_store.h), whether an image is held, and a push of one image to `reference`
  // (host/repository:tag). Pulls go through pull().
  virtual Result<std::vector<std::string>> step_images(const std::string& image_id,
                                                       std::int64_t created_since_ms,
                                                       const std::string& names_prefix) = 0;
  virtual Result<bool> has_image(const std::string& image_id) = 0;
  virtual Result<RunOutcome> push_image(const std::string& image_id, const std::string& reference,
                                        const LineSink& sink, const RunControl& control) = 0;
};

}  // namespace kiln::builder
