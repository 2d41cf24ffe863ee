#include "builder/buildah_engine.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "builder/build_network.h"
#include "builder/image_store.h"

namespace kiln::builder {
namespace {

namespace fs = std::filesystem;

std::int64_t tree_bytes(const fs::path& root) {
  std::int64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec),
       end;
       it != end; it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) {
      const auto size = it->file_size(ec);
      if (!ec) total += static_cast<std::int64_t>(size);
    }
  }
  return total;
}

// The registry host of an image reference, or empty for a name without one.
std::string registry_host(const std::string& image) {
  const auto slash = image.find('/');
  if (slash == std::string::npos) return {};
  const std::string first = image.substr(0, slash);
  if (first.find('.') == std::string::npos && first.find(':') == std::string::npos &&
      first != "localhost") {
    return {};
  }
  return first;
}

// The name buildah stores for a reference with a registry host: the tag defaults to latest.
std::string stored_name(const std::string& image) {
  const auto last_slash = image.rfind('/');
  const std::string last = image.substr(last_slash == std::string::npos ? 0 : last_slash + 1);
  if (last.find(':') != std::string::npos || last.find('@') != std::string::npos) return image;
  return image + ":latest";
}

}  // namespace

BuildahEngine::BuildahEngine(std::string storage_dir, std::vector<std::string> insecure_registries)
    : storage_dir_(std::move(storage_dir)), insecure_registries_(std::move(insecure_registries)) {
  std::error_code ec;
  fs::create_directories(storage_dir_, ec);
}

std::vector<std::string> BuildahEngine::base_command() const {
  return {"buildah",          "--root", storage_dir_ + "/root", "--runroot", storage_dir_ + "/run",
          "--storage-driver", "vfs"};
}

bool BuildahEngine::insecure(const std::string& image) const {
  const std::string host = registry_host(image);
  return std::find(insecure_registries_.begin(), insecure_registries_.end(), host) !=
         insecure_registries_.end();
}

Result<RunOutcome> BuildahEngine::run(std::vector<std::string> argv, const LineSink& sink,
                                      const RunControl& control) {
  ProcessOptions options;
  options.argv = std::move(argv);
  options.deadline = control.deadline;
  options.cancel = control.cancel;
  options.on_line = sink;
  auto result = run_process(options);
  if (!result.ok()) return result.error();
  return RunOutcome{result->exit_code, result->timed_out, result->cancelled};
}

Status BuildahEngine::check() {
  auto version = capture_process({"buildah", "--version"}, {}, std::chrono::seconds(10));
  if (!version.ok()) return make_error(ErrorCode::kUnavailable, version.error().message);
  if (version->exit_code != 0) {
    return make_error(ErrorCode::kUnavailable,
                      "buildah --version exited with " + std::to_string(version->exit_code));
  }
  return {};
}

bool BuildahEngine::has_local_image(const std::string& image) const {
  // Short names resolve through registries.conf; only a fully named image is looked up here.
  if (registry_host(image).empty()) return false;
  // containers/storage replaces this file atomically, so reading it unlocked sees a whole state;
  // the names in it are JSON strings that image references never need to escape.
  std::ifstream in(storage_dir_ + "/root/vfs-images/images.json", std::ios::binary);
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  return text.str().find('"' + stored_name(image) + '"') != std::string::npos;
}

Result<RunOutcome> BuildahEngine::pull(const std::string& image, const LineSink& sink,
                                       const RunControl& control) {
  // `pull --policy missing` would find it too, but only after starting buildah (~0.2 s a build).
  if (has_local_image(image)) return RunOutcome{};
  auto argv = base_command();
  argv.insert(argv.end(), {"pull", "--quiet", "--policy", "missing"});
  if (insecure(image)) argv.push_back("--tls-verify=false");
  argv.push_back(image);
  return run(std::move(argv), sink, control);
}

Result<RunOutcome> BuildahEngine::build(const BuildRequest& request, const LineSink& sink,
                                        const RunControl& control) {
  std::vector<std::string> argv;
  // A network namespace of its own with only a loopback that is down: RUN reaches nothing. With
  // network, the build's own namespace behind slirp4netns: out, but not to the host.
  if (!request.network) argv.insert(argv.end(), {"unshare", "--net"});
  if (request.network && !request.network_namespace.empty()) {
    argv.insert(argv.end(), {"nsenter", "--net=" + request.network_namespace});
  }
  const auto base = base_command();
  argv.insert(argv.end(), base.begin(), base.end());
  argv.insert(argv.end(), {"bud", "--isolation", "chroot", "--layers", "-f", request.dockerfile,
                           "--iidfile", request.iid_file});
  if (request.network && !request.network_namespace.empty()) {
    argv.insert(argv.end(), {"--dns", kBuildNetworkDns});
  }
  // Base images were pulled beforehand (pull()), with or without network for RUN steps.
  argv.push_back("--pull-never");
  if (request.no_cache) argv.push_back("--no-cache");
  if (!request.target.empty()) argv.insert(argv.end(), {"--target", request.target});
  for (const auto& [key, value] : request.build_args) {
    argv.insert(argv.end(), {"--build-arg", key + "=" + value});
  }
  for (const auto& [key, value] : request.labels) {
    argv.insert(argv.end(), {"--label", key + "=" + value});
  }
  for (const auto& [key, value] : request.annotations) {
    argv.insert(argv.end(), {"--annotation", key + "=" + value});
  }
  for (const auto& [id, file] : request.secret_files) {
    argv.insert(argv.end(), {"--secret", "id=" + id + ",src=" + file});
  }
  argv.push_back(request.context_dir);
  return run(std::move(argv), sink, control);
}

Result<RunOutcome> BuildahEngine::push_image(const std::string& image_id,
                                             const std::string& reference, const LineSink& sink,
                                             const RunControl& control) {
  auto argv = base_command();
  argv.insert(argv.end(), {"push", "--quiet"});
  if (insecure(reference)) argv.push_back("--tls-verify=false");
  argv.insert(argv.end(), {image_id, "docker://" + reference});
  return run(std::move(argv), sink, control);
}

Result<std::vector<std::string>> BuildahEngine::step_images(const std::string& image_id,
                                                            std::int64_t created_since_ms,
                                                            const std::string& names_prefix) {
  auto storage = read_storage(storage_dir_ + "/root");
  if (!storage.ok()) return storage.error();
  return build_step_images(*storage, image_id, created_since_ms, names_prefix);
}

Result<bool> BuildahEngine::has_image(const std::string& image_id) {
  auto storage = read_storage(storage_dir_ + "/root");
  if (!storage.ok()) return storage.error();
  return holds_image(*storage, image_id);
}

Result<RunOutcome> BuildahEngine::export_oci(const std::string& image,
                                             const std::string& layout_dir, const LineSink& sink,
                                             const RunControl& control) {
  auto argv = base_command();
  argv.insert(argv.end(), {"push", "--quiet", image, "oci:" + layout_dir + ":latest"});
  return run(std::move(argv), sink, control);
}

Status BuildahEngine::remove_leftover_containers() {
  auto rm = base_command();
  rm.insert(rm.end(), {"rm", "--all"});
  auto removed = capture_process(rm, {}, std::chrono::seconds(300));
  if (!removed.ok()) return removed.error();
  if (removed->exit_code != 0) {
    return make_error(ErrorCode::kInternal, "buildah rm --all: " + removed->output);
  }
  return {};
}

Result<std::int64_t> BuildahEngine::cache_bytes() { return tree_bytes(storage_dir_); }

Result<CacheReport> BuildahEngine::trim_cache(std::int64_t max_bytes) {
  CacheReport report;
  report.bytes_before = tree_bytes(storage_dir_);
  report.bytes_after = report.bytes_before;
  if (report.bytes_before <= max_bytes) return report;

  // Working containers left by killed builds hold whole root filesystems.
  auto rm = base_command();
  rm.insert(rm.end(), {"rm", "--all"});
  if (auto removed = capture_process(rm, {}, std::chrono::seconds(300)); !removed.ok()) {
    return removed.error();
  }
  report.bytes_after = tree_bytes(storage_dir_);

  // buildah records no last use; creation time is the closest stand-in (a cached step's image
  // keeps its creation time, so an often-reused old layer can go first: it is rebuilt once).
  auto list = base_command();
  list.insert(list.end(), {"images", "--all", "--noheading", "--no-trunc", "--format",
                           "{{.CreatedAtRaw}}|{{.ID}}"});
  auto listed = capture_process(list, {}, std::chrono::seconds(60));
  if (!listed.ok()) return listed.error();
  if (listed->exit_code != 0) {
    return make_error(ErrorCode::kInternal, "buildah images: " + listed->output);
  }
  std::vector<std::string> lines;
  std::istringstream in(listed->output);
  for (std::string line; std::getline(in, line);) {
    if (line.find('|') != std::string::npos) lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  // Children first within equal age is not guaranteed; a parent still in use just fails to go
  // and is retried on the next pass.
  for (int pass = 0; pass < 2 && report.bytes_after > max_bytes; ++pass) {
    for (const auto& line : lines) {
      if (report.bytes_after <= max_bytes) break;
      auto rmi = base_command();
      rmi.insert(rmi.end(), {"rmi", line.substr(line.find('|') + 1)});
      auto removed = capture_process(rmi, {}, std::chrono::seconds(120));
      if (removed.ok() && removed->exit_code == 0) {
        ++report.evicted_images;
        report.bytes_after = tree_bytes(storage_dir_);
      }
    }
  }
  return report;
}

}  // namespace kiln::builder
