#include "webhook-ingest/upload_routes.h"

#include <algorithm>
#include <cstdint>
#include <istream>
#include <optional>

#include "archive/context_archive.h"
#include "common/ids.h"
#include "common/log.h"
#include "json/writer.h"
#include "webhook-ingest/metrics.h"
#include "webhook-ingest/upload_store.h"

namespace kiln::webhook {
namespace {

// KILN_UPLOADS refuses new messages once it holds streams.uploads-max-bytes: tell the client the
// store is full (507, try later), not that the service is down.
http::HttpError storing_failed(const Error& error) {
  if (error.code == ErrorCode::kResourceExhausted) {
    return http::HttpError(507, "uploads_full",
                           "the upload store is full (streams.uploads-max-bytes); uploads expire "
                           "after a day, try again later");
  }
  return http::HttpError(503, "unavailable", "storing the context: " + error.describe());
}

std::string upload_answer(const std::string& upload_id, const std::string& sha256,
                          std::uint64_t size, const std::string& format) {
  return json::Object()
      .add("upload_id", upload_id)
      .add("sha256", sha256)
      .add("size", size)
      .add("format", format)
      .str();
}

bool is_sha256_hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Tenants never see each other's uploads: the id hashes the tenant in.
std::string content_upload_id(const std::string& tenant, const std::string& content_hex) {
  return "ctx-" + sha256_hex(tenant + "\n" + content_hex).substr(0, 40);
}

}  // namespace

void UploadRoutes::add_to(http::Server& server) {
  http::RouteOptions route;
  route.stream_body = true;
  route.max_body_bytes = options_.upload_max_bytes;
  // A whole upload must arrive at 1 MiB/s or better (never under the API's 30 s): a client
  // trickling bytes cannot hold a request thread for good.
  route.body_timeout_ms = static_cast<int>(std::max<std::int64_t>(
      30'000, static_cast<std::int64_t>(options_.upload_max_bytes) * 1000 / (1 << 20)));
  server.raw_route(
      "POST", "/v1/uploads",
      [this](http::Request& r, Poco::Net::HTTPServerResponse& out) { upload(r, out); }, route);
  server.route("GET", "/v1/uploads/{digest}", [this](http::Request& r) { return find(r); });
}

http::Response UploadRoutes::find(http::Request& request) {
  const http::Principal principal = auth_.require(request, http::Role::kBuild);
  const std::string& digest = request.path_params.at("digest");
  if (digest.rfind("sha256:", 0) != 0 || !is_sha256_hex(digest.substr(7))) {
    throw http::HttpError(400, "invalid_digest", "expected sha256:<64 lowercase hex>");
  }
  const std::string id = content_upload_id(principal.tenant, digest.substr(7));
  auto stored = find_upload(bus_, id);
  if (!stored.ok()) {
    if (stored.error().code == ErrorCode::kNotFound) {
      throw http::HttpError(404, "not_found", "no upload of " + digest + " for this tenant");
    }
    throw http::HttpError(503, "unavailable", stored.error().describe());
  }
  return http::json_response(
      200,
      upload_answer(id, stored->sha256, static_cast<std::uint64_t>(stored->size), stored->format));
}

void UploadRoutes::upload(http::Request& request, Poco::Net::HTTPServerResponse& response) {
  // Whatever goes wrong below leaves body bytes unread: the connection cannot be reused.
  response.setKeepAlive(false);
  const http::Principal principal = auth_.require(request, http::Role::kBuild);
  try {
    store(request, response, principal);
  } catch (const http::HttpError& refused) {
    metrics_.counter_add(metric::kUploadsRefused, {{"reason", refused.code()}});
    throw;
  }
}

// Streams the body into KILN_UPLOADS and answers 201, or throws the HttpError the client sees.
void UploadRoutes::store(http::Request& request, Poco::Net::HTTPServerResponse& response,
                         const http::Principal& principal) {
  const std::size_t limit = options_.upload_max_bytes;
  const auto declared = request.raw->getContentLength64();
  if (declared != Poco::Net::HTTPMessage::UNKNOWN_CONTENT_LENGTH &&
      static_cast<std::uint64_t>(declared) > limit) {
    throw http::HttpError(413, "payload_too_large",
                          "context of " + std::to_string(declared) +
                              " bytes exceeds uploads.max-bytes (" + std::to_string(limit) + ")");
  }
  const std::string named = request.query_or("sha256", "");
  if (!named.empty() && !is_sha256_hex(named)) {
    throw http::HttpError(400, "invalid_digest", "sha256 must be 64 lowercase hex characters");
  }
  const std::string upload_id =
      named.empty() ? random_id() : content_upload_id(principal.tenant, named);
  if (!named.empty()) {
    // Stored already: its chunks must not be written twice (or purged by a failed second copy).
    if (auto stored = find_upload(bus_, upload_id); stored.ok()) {
      response.setKeepAlive(false);
      http::write_response(
          response, http::json_response(200, upload_answer(upload_id, stored->sha256,
                                                           static_cast<std::uint64_t>(stored->size),
                                                           stored->format)));
      return;
    }
  }
  UploadWriter writer(bus_, upload_id, principal.tenant, 10000);
  std::istream& in = request.raw->stream();
  std::string buf(64 * 1024, '\0');
  std::uint64_t total = 0;
  // The archive is checked as it streams past and every byte is stored as it arrives; what goes
  // wrong on the way is kept here (exceptions must not cross libarchive's C frames).
  std::optional<http::HttpError> refused;
  auto next = [&]() -> Result<std::string_view> {
    try {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    } catch (const std::exception& e) {
      refused.emplace(408, "body_timeout", std::string("reading the context: ") + e.what());
      return make_error(ErrorCode::kDeadlineExceeded, e.what());
    }
    const auto n = static_cast<std::size_t>(in.gcount());
    total += n;
    if (total > limit) {
      refused.emplace(413, "payload_too_large",
                      "context exceeds uploads.max-bytes (" + std::to_string(limit) + ")");
      return make_error(ErrorCode::kResourceExhausted, "too large");
    }
    const std::string_view bytes(buf.data(), n);
    if (Status s = writer.write(bytes); !s.ok()) {
      refused.emplace(storing_failed(s.error()));
      return s.error();
    }
    return bytes;
  };
  auto checked = archive::check_context(next, archive::ContextLimits{});
  if (refused) throw *refused;
  if (declared > 0 && total < static_cast<std::uint64_t>(declared)) {
    throw http::HttpError(408, "body_timeout", "the context ended early or arrived too slowly");
  }
  if (!checked.ok()) throw http::HttpError(422, "invalid_context", checked.error().message);
  if (Status s = writer.finish(named); !s.ok()) {
    if (s.error().code == ErrorCode::kFailedPrecondition) {
      throw http::HttpError(422, "digest_mismatch", s.error().message);
    }
    throw storing_failed(s.error());
  }
  log::info("context uploaded", {{"upload_id", writer.upload_id()},
                                 {"size", static_cast<std::int64_t>(writer.size())},
                                 {"format", checked->format},
                                 {"by", principal.name}});
  response.setKeepAlive(true);
  http::write_response(response,
                       http::json_response(201, upload_answer(writer.upload_id(), writer.sha256(),
                                                              writer.size(), checked->format)));
}

}  // namespace kiln::webhook
