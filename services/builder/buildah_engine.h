// BuildEngine over the buildah command line, with kiln's own storage (--root/--runroot, vfs) and
// chroot isolation (the only one that works on these machines). Without network, the build runs
// inside `unshare --net` with --pull-never, after the base images were pulled.
#pragma once

#include <string>
#include <vector>

#include "builder/build_engine.h"

namespace kiln::builder {

class BuildahEngine : public BuildEngine {
 public:
  BuildahEngine(std::string storage_dir, std::vector<std::string> insecure_registries);

  Status check() override;
  Result<RunOutcome> pull(const std::string& image, const LineSink& sink,
                          const RunControl& control) override;
  Result<RunOutcome> build(const BuildRequest& request, const LineSink& sink,
                           const RunControl& control) override;
  Result<RunOutcome> export_oci(const std::string& image, const std::string& layout_dir,
                                const LineSink& sink, const RunControl& control) override;
  Result<CacheReport> trim_cache(std::int64_t max_bytes) override;
  Status remove_leftover_containers() override;
  Result<std::int64_t> cache_bytes() override;
  Result<std::vector<std::string>> step_images(const std::string& image_id,
                                               std::int64_t created_since_ms,
                                               const std::string& names_prefix) override;
  Result<bool> has_image(const std::string& image_id) override;
  Result<RunOutcome> push_image(const std::string& image_id, const std::string& reference,
                                const LineSink& sink, const RunControl& control) override;

  // True when the storage holds `image` under that name (a registry reference; tag defaults to
  // latest), read from the storage's image list without starting buildah.
  bool has_local_image(const std::string& image) const;

  // The buildah argv prefix with the storage options (exposed for tests and benchmarks).
  std::vector<std::string> base_command() const;

 private:
  bool insecure(const std::string& image) const;
  Result<RunOutcome> run(std::vector<std::string> argv, const LineSink& sink,
                         const RunControl& control);

  std::string storage_dir_;
  std::vector<std::string> insecure_registries_;
};

}  // namespace kiln::builder
