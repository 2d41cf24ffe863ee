#include "webhook-ingest/api_json.h"

#include "http/server.h"

namespace kiln::webhook {

json::Reader api_body(std::string_view body) {
  try {
    return json::Reader(json::parse_object(body));
  } catch (const Error& e) {
    throw http::HttpError(400, "malformed_json", e.message);
  }
}

void throw_field_error(const Error& error) {
  if (error.peer_code == "malformed_json") {
    throw http::HttpError(400, error.peer_code, error.message);
  }
  throw http::HttpError(422, error.peer_code.empty() ? "invalid_field" : error.peer_code,
                        error.message);
}

}  // namespace kiln::webhook
