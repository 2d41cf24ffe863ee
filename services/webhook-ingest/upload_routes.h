// POST /v1/uploads: a build context (tar or tar.gz) streamed from the request body into
// KILN_UPLOADS while its tar headers are checked; answered {"upload_id","sha256","size","format"}.
// POST /v1/uploads?sha256=<hex> names the content first: its upload id is then derived from the
// caller's tenant and the digest, a body that does not hash to it is refused (422), and
// GET /v1/uploads/sha256:<hex> finds it (200 with the same fields, 404 when the tenant has none),
// so a client sends an unchanged context once (until uploads expire, after a day).
#pragma once

#include "bus/bus.h"
#include "http/auth.h"
#include "http/server.h"
#include "webhook-ingest/ingest_options.h"

namespace kiln::webhook {

class UploadRoutes {
 public:
  UploadRoutes(bus::Bus& bus, const http::TokenAuth& auth, http::Metrics& metrics,
               const IngestOptions& options)
      : bus_(bus), auth_(auth), metrics_(metrics), options_(options) {}

  void add_to(http::Server& server);

 private:
  void upload(http::Request& request, Poco::Net::HTTPServerResponse& response);
  http::Response find(http::Request& request);
  void store(http::Request& request, Poco::Net::HTTPServerResponse& response,
             const http::Principal& principal);

  bus::Bus& bus_;
  const http::TokenAuth& auth_;
  http::Metrics& metrics_;
  const IngestOptions& options_;
};

}  // namespace kiln::webhook
