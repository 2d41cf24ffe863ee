#include "registry/client.h"

#include <strings.h>

#include "common/log.h"
#include "oci/digest.h"
#include "oci/manifest.h"
#include "oci/reference.h"
#include "registry/auth.h"
#include "registry/client_impl.h"
#include "registry/errors.h"
#include "registry/retry.h"

namespace kiln::registry {
namespace {

Status check_names(const RegistryOptions& options, const std::string& repository,
                   const std::string& digest = "sha256:" + std::string(64, '0')) {
  if (!oci::is_valid_repository(repository)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid repository name \"" + repository + "\" for " + options.host);
  }
  if (auto d = oci::Digest::parse(digest); !d) return d.error();
  return {};
}

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

RegistryClient::Impl::Impl(RegistryOptions opts)
    : options(std::move(opts)),
      base_url((options.insecure ? "http://" : "https://") + options.host),
      pool(static_cast<std::size_t>(std::max(options.parallelism, 1)) + 2),
      auth(options, [this](const std::string& url, const std::vector<std::string>& headers) {
        Call call;
        call.request.url = url;
        call.request.headers = headers;
        call.what = "token request";
        call.follow_redirects = true;
        call.registry_auth = false;
        TransferControl none;
        // The token endpoint is another origin: send() never adds registry auth to it, and
        // this call's own Basic header goes only to the realm's host.
        return send(call, none);
      }) {
  CurlUrl u;
  if (u.set_url(base_url + "/")) origin = u.origin();
}

std::string RegistryClient::Impl::repo_url(const std::string& repository,
                                           const std::string& suffix) const {
  return base_url + "/v2/" + repository + suffix;
}

std::string RegistryClient::Impl::resolve(const std::string& base, const std::string& location) {
  CurlUrl u;
  if (!u.set_url(base)) return {};
  if (!location.empty() && !u.set_url(location)) return {};
  return u.url();
}

std::string RegistryClient::Impl::with_query(const std::string& url, const std::string& name,
                                             const std::string& value) {
  CurlUrl u;
  if (!u.set_url(url) || !u.append_query(name, value)) return {};
  return u.url();
}

Error RegistryClient::Impl::error_from(const HttpResponse& response,
                                       const std::string& what) const {
  Error e = registry_error(response.status, response.body, what + " at " + options.host);
  if (response.status == 401) {
    e.message +=
        options.credentials.empty()
            ? "; the registry requires authentication and no credentials are configured"
            : "; the registry refused the credentials of " + options.credentials.describe();
  } else if (response.status == 403) {
    e.message += "; " + options.credentials.describe() + " is not allowed to do this";
  }
  return e;
}

std::chrono::milliseconds RegistryClient::Impl::retry_delay(int attempt,
                                                            const HttpResponse* response) const {
  if (response != nullptr) {
    if (auto after = parse_retry_after(response->header("retry-after"))) {
      return std::min(*after, options.retry.max_retry_after);
    }
  }
  return backoff_delay(options.retry, attempt, random_unit());
}

Result<HttpResponse> RegistryClient::Impl::send(Call& call, const TransferControl& control) {
  const int max_attempts = std::max(1, options.retry.max_attempts);
  int attempt = 1;
  bool auth_retried = false;
  int redirects = 0;
  std::string url = call.request.url;
  CurlUrl first;
  const std::string first_origin = first.set_url(url) ? first.origin() : std::string();
  for (;;) {
    if (control.cancel && control.cancel()) {
      return make_error(ErrorCode::kCancelled, call.what + " cancelled");
    }
    HttpRequest request = call.request;
    request.url = url;
    CurlUrl parsed;
    const bool same_origin = call.registry_auth && parsed.set_url(url) && parsed.origin() == origin;
    std::string sent_auth;
    if (same_origin) {
      auto header = auth.header_for(call.scopes);
      if (!header) return header.error();
      sent_auth = std::move(*header);
      if (!sent_auth.empty()) request.headers.push_back(sent_auth);
    }
    Result<HttpResponse> response = [&] {
      auto lease = pool.acquire();
      return perform(*lease, request, TransportSettings{&options, &control});
    }();
    if (!response) {
      const Error& err = response.error();
      if (call.retry && is_retryable(err) && attempt < max_attempts) {
        const auto delay = retry_delay(attempt, nullptr);
        log::warn("registry request failed, retrying", {{"op", call.what},
                                                        {"error", err.message},
                                                        {"attempt", attempt},
                                                        {"delay_ms", delay.count()}});
        if (auto s = sleep_unless_cancelled(delay, control.cancel); !s) return s.error();
        ++attempt;
        continue;
      }
      return err;
    }
    const long status = response->status;
    log::debug("registry request", {{"method", request.method},
                                    {"url", url_for_log(url)},
                                    {"status", static_cast<std::int64_t>(status)}});
    if (status == 401 && same_origin && !auth_retried) {
      auth_retried = true;
      auto again =
          auth.on_unauthorized(response->header("www-authenticate"), call.scopes, sent_auth);
      if (!again) return again.error();
      if (*again) continue;
      return response;
    }
    if (call.retry && is_retryable_status(status) && attempt < max_attempts) {
      const auto delay = retry_delay(attempt, &*response);
      log::warn("registry answered with a retryable status, retrying",
                {{"op", call.what},
                 {"status", static_cast<std::int64_t>(status)},
                 {"attempt", attempt},
                 {"delay_ms", delay.count()}});
      if (auto s = sleep_unless_cancelled(delay, control.cancel); !s) return s.error();
      ++attempt;
      continue;
    }
    if (call.follow_redirects && is_redirect(status)) {
      const std::string location = response->header("location");
      if (location.empty()) return response;
      if (++redirects > 5) {
        return make_error(ErrorCode::kUnavailable, call.what + ": too many redirects");
      }
      const std::string next = resolve(url, location);
      if (next.empty()) {
        return make_error(ErrorCode::kUnavailable, call.what + ": bad redirect location");
      }
      if (url.rfind("https://", 0) == 0 && next.rfind("https://", 0) != 0) {
        return make_error(ErrorCode::kFailedPrecondition,
                          call.what + ": refusing a redirect from https to " + url_for_log(next));
      }
      CurlUrl target;
      if (!target.set_url(next) || target.origin() != first_origin) {
        // Off-host redirect (e.g. to blob storage): no caller-supplied Authorization either.
        auto& headers = call.request.headers;
        std::erase_if(headers, [](const std::string& h) {
          return h.size() >= 14 && strncasecmp(h.c_str(), "authorization:", 14) == 0;
        });
      }
      url = next;
      continue;
    }
    return response;
  }
}

RegistryClient::RegistryClient(RegistryOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

RegistryClient::~RegistryClient() = default;

const RegistryOptions& RegistryClient::options() const { return impl_->options; }
const std::string& RegistryClient::base_url() const { return impl_->base_url; }

Status RegistryClient::ping(const TransferControl& control) {
  Call call;
  call.request.url = impl_->base_url + "/v2/";
  call.what = "GET /v2/";
  auto response = impl_->send(call, control);
  if (!response) return response.error();
  if (response->status != 200) return impl_->error_from(*response, call.what);
  return {};
}

Result<BlobInfo> RegistryClient::blob_exists(const std::string& repository,
                                             const std::string& digest,
                                             const TransferControl& control) {
  if (auto s = check_names(impl_->options, repository, digest); !s) return s.error();
  Call call;
  call.request.method = "HEAD";
  call.request.url = impl_->repo_url(repository, "/blobs/" + digest);
  call.scopes = {repository_scope(repository)};
  call.what = "HEAD blob " + digest + " in " + repository;
  call.follow_redirects = true;
  auto response = impl_->send(call, control);
  if (!response) return response.error();
  if (response->status == 200) {
    BlobInfo info{true, -1};
    const std::string length = response->header("content-length");
    if (!length.empty()) info.size = std::stoll(length);
    return info;
  }
  if (response->status == 404) return BlobInfo{};
  Error e = impl_->error_from(*response, call.what);
  // A HEAD answer has no body to carry the registry's code: name the usual one for the status.
  if (response->status == 401) e.peer_code = "UNAUTHORIZED";
  if (response->status == 403) e.peer_code = "DENIED";
  return e;
}

Result<MountResult> RegistryClient::mount_blob(const std::string& repository,
                                               const std::string& digest,
                                               const std::string& from_repository,
                                               const TransferControl& control) {
  if (auto s = check_names(impl_->options, repository, digest); !s) return s.error();
  if (auto s = check_names(impl_->options, from_repository); !s) return s.error();
  Call call;
  call.request.method = "POST";
  call.request.url = Impl::with_query(
      Impl::with_query(impl_->repo_url(repository, "/blobs/uploads/"), "mount", digest), "from",
      from_repository);
  call.scopes = {repository_scope(repository), repository_scope(from_repository, "pull")};
  call.what = "mount blob " + digest + " from " + from_repository + " into " + repository;
  auto response = impl_->send(call, control);
  if (!response) return response.error();
  if (response->status == 201) return MountResult{true, {}};
  if (response->status == 202) {
    return MountResult{false, Impl::resolve(call.request.url, response->header("location"))};
  }
  return impl_->error_from(*response, call.what);
}

Status RegistryClient::cancel_upload(const std::string& upload_url) {
  if (upload_url.empty()) return {};
  Call call;
  call.request.method = "DELETE";
  call.request.url = upload_url;
  call.retry = false;
  call.what = "DELETE upload";
  auto response = impl_->send(call, {});
  if (!response) return response.error();
  if (response->status >= 300 && response->status != 404) {
    return impl_->error_from(*response, call.what);
  }
  return {};
}

Result<std::string> RegistryClient::put_manifest(const std::string& repository,
                                                 const std::string& reference,
                                                 const std::string& media_type,
                                                 const std::string& raw,
                                                 const TransferControl& control) {
  if (auto s = check_names(impl_->options, repository); !s) return s.error();
  if (!oci::is_valid_tag(reference) && !oci::is_valid_digest(reference)) {
    return make_error(ErrorCode::kInvalidArgument, "invalid tag or digest \"" + reference + "\"");
  }
  const std::string digest = oci::sha256_digest(raw);
  if (oci::is_valid_digest(reference) && reference != digest) {
    return make_error(ErrorCode::kInvalidArgument,
                      "manifest bytes hash to " + digest + ", not to " + reference);
  }
  StringBody body(raw);
  Call call;
  call.request.method = "PUT";
  call.request.url = impl_->repo_url(repository, "/manifests/" + reference);
  call.request.headers = {"Content-Type: " + media_type};
  call.request.body = &body;
  call.scopes = {repository_scope(repository)};
  call.what = "PUT manifest " + repository + ":" + reference;
  auto response = impl_->send(call, control);
  if (!response) return response.error();
  if (response->status != 201 && response->status != 200) {
    return impl_->error_from(*response, call.what);
  }
  const std::string returned = response->header("docker-content-digest");
  if (!returned.empty() && returned != digest) {
    return make_error(ErrorCode::kDataLoss,
                      call.what + ": registry stored digest " + returned + ", expected " + digest);
  }
  log::debug("manifest pushed",
             {{"repository", repository}, {"reference", reference}, {"digest", digest}});
  return digest;
}

Result<FetchedManifest> RegistryClient::get_manifest(const std::string& repository,
                                                     const std::string& reference,
                                                     const TransferControl& control) {
  if (auto s = check_names(impl_->options, repository); !s) return s.error();
  Call call;
  call.request.url = impl_->repo_url(repository, "/manifests/" + reference);
  call.request.headers = {"Accept: " + std::string(oci::kMediaTypeOciManifest) + ", " +
                          std::string(oci::kMediaTypeOciIndex) + ", " +
                          std::string(oci::kMediaTypeDockerManifest) + ", " +
                          std::string(oci::kMediaTypeDockerManifestList)};
  call.request.max_body = 16 << 20;
  call.scopes = {repository_scope(repository, "pull")};
  call.what = "GET manifest " + repository + ":" + reference;
  call.follow_redirects = true;
  auto response = impl_->send(call, control);
  if (!response) return response.error();
  if (response->status != 200) return impl_->error_from(*response, call.what);
  FetchedManifest out;
  out.media_type = response->header("content-type");
  out.raw = std::move(response->body);
  out.digest = oci::sha256_digest(out.raw);
  const std::string returned = response->header("docker-content-digest");
  if ((oci::is_valid_digest(reference) && reference != out.digest) ||
      (!returned.empty() && returned != out.digest)) {
    return make_error(ErrorCode::kDataLoss, call.what + ": received bytes hash to " + out.digest);
  }
  return out;
}

}  // namespace kiln::registry
