// HTTP calls to kiln's two APIs: the command API (webhook-ingest) and the query API (analytics).
// Errors become CliError: 4xx → kExitApiError with the server's message, connection failures and
// 5xx → kExitUnavailable.
#pragma once

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <functional>
#include <string>

namespace kiln::cli {

struct Endpoints {
  std::string command_url = "http://127.0.0.1:8080";
  std::string query_url = "http://127.0.0.1:8081";
  std::string token;
};

struct HttpReply {
  int status = 0;
  std::string body;
};

class ApiClient {
 public:
  explicit ApiClient(Endpoints endpoints) : endpoints_(std::move(endpoints)) {}

  // Sends a request and returns the parsed JSON object of a 2xx answer.
  Poco::JSON::Object::Ptr command(const std::string& method, const std::string& path,
                                  const std::string& body = "");
  Poco::JSON::Object::Ptr query(const std::string& path);

  // Reads a Server-Sent Events stream from the query API, calling `on_event(type, id, data)`
  // for each event until it returns false or the server closes the stream.
  void stream_events(const std::string& path, const std::string& last_event_id,
                     const std::function<bool(const std::string&, const std::string&,
                                              const std::string&)>& on_event);

  // POSTs the file at `file_path` to the command API as the request body, streamed from disk;
  // `on_sent(bytes)` is called as it goes. Returns the parsed answer of a 2xx.
  Poco::JSON::Object::Ptr upload_file(const std::string& path, const std::string& file_path,
                                      const std::function<void(std::int64_t)>& on_sent);

  const Endpoints& endpoints() const { return endpoints_; }

 private:
  HttpReply send(const std::string& base, const std::string& method, const std::string& path,
                 const std::string& body);
  Endpoints endpoints_;
};

// Parses a JSON object or throws CliError naming `what`.
Poco::JSON::Object::Ptr parse_object(const std::string& json, const std::string& what);

}  // namespace kiln::cli
