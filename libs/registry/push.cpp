#include "registry/push.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "common/failpoint.h"
#include "common/log.h"
#include "oci/layout.h"
#include "oci/reference.h"

namespace kiln::registry {
namespace {

// State shared by the blob workers of one push.
// Sends one blob the registry lacks (a file of the layout, or a copy from another registry),
// into the upload session a failed mount left open when there is one.
using BlobSender = std::function<Result<UploadResult>(
    const oci::Descriptor&, const TransferControl&, const std::string& session)>;

class BlobPush {
 public:
  BlobPush(RegistryClient& client, const PushRequest& request, BlobSender send,
           std::vector<oci::Descriptor> blobs)
      : client_(client), request_(request), send_(std::move(send)), blobs_(std::move(blobs)) {
    control_.cancel = [this] { return stop_requested(); };
    if (request_.on_progress) {
      control_.on_bytes = [this](std::int64_t n) {
        PushProgress p;
        p.kind = PushProgress::Kind::kBytes;
        p.bytes = n;
        emit(p);
      };
    }
  }

  // Runs the workers; returns the first error.
  Status run(PushReport& report) {
    const int workers =
        std::clamp(client_.options().parallelism, 1, std::max(1, static_cast<int>(blobs_.size())));
    std::vector<std::thread> threads;
    for (int i = 1; i < workers; ++i) threads.emplace_back([this] { work(); });
    work();
    for (auto& t : threads) t.join();
    if (first_error_) return *first_error_;
    if (request_.cancel && request_.cancel()) {
      return make_error(ErrorCode::kCancelled, "push to " + request_.repository + " cancelled");
    }
    report.bytes_uploaded = bytes_uploaded_;
    report.bytes_skipped = bytes_skipped_;
    report.blobs_uploaded = uploaded_;
    report.blobs_skipped = present_;
    report.blobs_mounted = mounted_;
    return {};
  }

  void emit(const PushProgress& p) {
    if (!request_.on_progress) return;
    std::lock_guard lock(progress_mutex_);
    request_.on_progress(p);
  }

 private:
  bool stop_requested() const { return failed_.load() || (request_.cancel && request_.cancel()); }

  void work() {
    for (;;) {
      if (stop_requested()) return;
      const std::size_t i = next_.fetch_add(1);
      if (i >= blobs_.size()) return;
      auto outcome = push_blob(blobs_[i]);
      if (!outcome) {
        std::lock_guard lock(mutex_);
        if (!first_error_) first_error_ = outcome.error();
        failed_ = true;
        return;
      }
      record(blobs_[i], *outcome);
    }
  }

  void record(const oci::Descriptor& d, BlobOutcome outcome) {
    PushProgress p;
    {
      std::lock_guard lock(mutex_);
      if (outcome == BlobOutcome::kUploaded) {
        ++uploaded_;
        bytes_uploaded_ += d.size;
      } else {
        outcome == BlobOutcome::kPresent ? ++present_ : ++mounted_;
        bytes_skipped_ += d.size;
      }
      p.blobs_done = uploaded_ + present_ + mounted_;
    }
    // A blob put in place (sent or mounted), the manifest not yet: a kill here is a push cut
    // mid-way (chaos).
    if (outcome != BlobOutcome::kPresent) KILN_FAILPOINT("registry.after_blob_placed");
    log::debug("blob pushed", {{"repository", request_.repository},
                               {"digest", d.digest},
                               {"bytes", d.size},
                               {"outcome", std::string(to_string(outcome))}});
    p.kind = PushProgress::Kind::kBlobDone;
    p.digest = d.digest;
    p.size = d.size;
    p.outcome = outcome;
    p.blobs_total = static_cast<int>(blobs_.size());
    emit(p);
  }

  Result<BlobOutcome> push_blob(const oci::Descriptor& d) {
    const std::string& repo = request_.repository;
    auto exists = client_.blob_exists(repo, d.digest, control_);
    if (!exists) return exists.error();
    if (exists->exists) return BlobOutcome::kPresent;

    std::string session;  // an upload session left open by a mount that did not happen
    for (const auto& from : request_.mount_from) {
      if (from == repo) continue;
      auto mount = client_.mount_blob(repo, d.digest, from, control_);
      if (!mount) {
        if (mount.error().code == ErrorCode::kCancelled) return mount.error();
        log::debug("mount failed, falling back",
                   {{"digest", d.digest}, {"from", from}, {"error", mount.error().message}});
        continue;
      }
      if (mount->mounted) {
        (void)client_.cancel_upload(session);
        return BlobOutcome::kMounted;
      }
      if (!session.empty()) (void)client_.cancel_upload(session);
      session = mount->upload_url;
    }
    auto uploaded = send_(d, control_, session);
    if (!uploaded) return uploaded.error();
    return BlobOutcome::kUploaded;
  }

  RegistryClient& client_;
  const PushRequest& request_;
  BlobSender send_;
  const std::vector<oci::Descriptor> blobs_;
  TransferControl control_;
  std::atomic<std::size_t> next_{0};
  std::atomic<bool> failed_{false};
  std::mutex mutex_;
  std::optional<Error> first_error_;
  std::int64_t bytes_uploaded_ = 0;
  std::int64_t bytes_skipped_ = 0;
  int uploaded_ = 0;
  int present_ = 0;
  int mounted_ = 0;
  std::mutex progress_mutex_;
};

Error with_context(const Error& e, const std::string& context) {
  return make_error(e.code, context + ": " + e.message, e.peer_code);
}

}  // namespace

std::string_view to_string(BlobOutcome outcome) {
  switch (outcome) {
    case BlobOutcome::kPresent:
      return "present";
    case BlobOutcome::kMounted:
      return "mounted";
    case BlobOutcome::kUploaded:
      return "uploaded";
  }
  return "unknown";
}

namespace {

Status check_target(const PushRequest& request) {
  if (!oci::is_valid_repository(request.repository)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid repository name \"" + request.repository + "\"");
  }
  for (const auto& tag : request.tags) {
    if (!oci::is_valid_tag(tag)) {
      return make_error(ErrorCode::kInvalidArgument, "invalid tag \"" + tag + "\"");
    }
  }
  return {};
}

// The image's manifests: the top one and, for an index, its children (not nested further).
struct ImageManifests {
  oci::Manifest top;
  std::vector<oci::Manifest> children;
};

Result<ImageManifests> read_manifests(
    oci::Manifest top, const std::function<Result<oci::Manifest>(const oci::Descriptor&)>& read) {
  ImageManifests out{std::move(top), {}};
  if (!out.top.is_index()) return out;
  for (const auto& d : out.top.manifests) {
    auto child = read(d);
    if (!child) return child.error();
    if (child->is_index()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "nested image index " + d.digest + " is not supported");
    }
    out.children.push_back(std::move(*child));
  }
  return out;
}

Result<PushReport> push_manifests(RegistryClient& client, const PushRequest& request,
                                  const ImageManifests& image, BlobSender send) {
  const auto started = std::chrono::steady_clock::now();
  const std::string& host = client.options().host;
  const oci::Manifest* top = &image.top;
  const std::vector<oci::Manifest>& children = image.children;
  std::vector<oci::Descriptor> blobs;
  std::set<std::string> seen;
  for (const oci::Manifest* m : [&] {
         std::vector<const oci::Manifest*> all;
         if (children.empty()) all.push_back(top);
         for (const auto& c : children) all.push_back(&c);
         return all;
       }()) {
    for (const auto& b : m->blobs()) {
      if (seen.insert(b.digest).second) blobs.push_back(b);
    }
  }

  PushReport report;
  for (const auto& b : blobs) report.bytes_total += b.size;
  const std::string target = host + "/" + request.repository;
  BlobPush push(client, request, std::move(send), blobs);
  if (auto s = push.run(report); !s) {
    log::warn("image push failed", {{"target", target}, {"error", s.error().describe()}});
    return with_context(s.error(), "push to " + target);
  }

  TransferControl control;
  control.cancel = request.cancel;
  auto put = [&](const oci::Manifest& m, const std::string& reference) -> Status {
    auto digest = client.put_manifest(request.repository, reference, m.media_type, m.raw, control);
    if (!digest) return with_context(digest.error(), "push to " + target);
    ++report.manifests_pushed;
    PushProgress p;
    p.kind = PushProgress::Kind::kManifestPushed;
    p.reference = reference;
    p.digest = *digest;
    push.emit(p);
    return {};
  };
  for (const auto& child : children) {
    if (auto s = put(child, child.digest); !s) return s.error();
  }
  if (request.tags.empty()) {
    if (auto s = put(*top, top->digest); !s) return s.error();
  }
  for (const auto& tag : request.tags) {
    if (auto s = put(*top, tag); !s) return s.error();
    report.image_refs.push_back(target + ":" + tag);
  }
  report.image_refs.push_back(target + "@" + top->digest);
  report.manifest_digest = top->digest;
  report.media_type = top->media_type;
  report.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  log::info("image pushed", {{"target", target},
                             {"digest", report.manifest_digest},
                             {"bytes_uploaded", report.bytes_uploaded},
                             {"bytes_skipped", report.bytes_skipped},
                             {"blobs_uploaded", report.blobs_uploaded},
                             {"blobs_skipped", report.blobs_skipped},
                             {"blobs_mounted", report.blobs_mounted},
                             {"duration_ms", report.duration.count()}});
  return report;
}

}  // namespace

Result<PushReport> push_layout(RegistryClient& client, const PushRequest& request) {
  if (auto s = check_target(request); !s) return s.error();
  auto layout = oci::ImageLayout::open(request.layout_dir);
  if (!layout) return layout.error();
  auto top_descriptor = layout->find(request.ref_name);
  if (!top_descriptor) return top_descriptor.error();
  auto top = layout->read_manifest(*top_descriptor);
  if (!top) return top.error();
  auto image = read_manifests(std::move(*top),
                              [&](const oci::Descriptor& d) { return layout->read_manifest(d); });
  if (!image) return image.error();
  return push_manifests(
      client, request, *image,
      [&](const oci::Descriptor& d, const TransferControl& control, const std::string& session) {
        BlobFile file{layout->blob_path(d.digest), d.digest, d.size};
        return client.upload_blob(request.repository, file, control, session);
      });
}

Result<PushReport> copy_image(RegistryClient& client, const RegistryImage& source,
                              const PushRequest& request) {
  if (auto s = check_target(request); !s) return s.error();
  TransferControl control;
  control.cancel = request.cancel;
  auto fetch = [&](const std::string& digest) -> Result<oci::Manifest> {
    auto fetched = source.client->get_manifest(source.repository, digest, control);
    if (!fetched) return fetched.error();
    return oci::parse_manifest(std::move(fetched->raw), fetched->media_type);
  };
  auto top = fetch(source.digest);
  if (!top) return with_context(top.error(), "reading the image to copy");
  auto image =
      read_manifests(std::move(*top), [&](const oci::Descriptor& d) { return fetch(d.digest); });
  if (!image) return with_context(image.error(), "reading the image to copy");
  // On the same registry a blob is mounted from the source repository: nothing is sent.
  PushRequest same_registry = request;
  if (client.base_url() == source.client->base_url()) {
    same_registry.mount_from.insert(same_registry.mount_from.begin(), source.repository);
  }
  return push_manifests(client, same_registry, *image,
                        [&](const oci::Descriptor& d, const TransferControl& blob_control,
                            const std::string& session) {
                          if (!session.empty()) (void)client.cancel_upload(session);
                          return client.copy_blob(*source.client, source.repository,
                                                  request.repository, d.digest, d.size,
                                                  blob_control);
                        });
}

}  // namespace kiln::registry
