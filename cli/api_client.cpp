#include "cli/api_client.h"

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <algorithm>
#include <fstream>
#include <istream>
#include <vector>

#include "cli/cli_error.h"

namespace kiln::cli {
namespace {

std::unique_ptr<Poco::Net::HTTPClientSession> open_session(const Poco::URI& uri) {
  if (uri.getScheme() != "http") {
    throw CliError(kExitUsage, "only http:// API URLs are supported, got " + uri.toString());
  }
  auto session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
  session->setTimeout(Poco::Timespan(30, 0));
  return session;
}

std::string error_message(const HttpReply& reply) {
  try {
    auto object = parse_object(reply.body, "error");
    if (auto error = object->getObject("error")) {
      return error->optValue<std::string>("message", reply.body) + " (" +
             error->optValue<std::string>("code", "") + ", HTTP " + std::to_string(reply.status) +
             ")";
    }
  } catch (const CliError&) {
  }
  return "HTTP " + std::to_string(reply.status) + ": " + reply.body;
}

}  // namespace

Poco::JSON::Object::Ptr parse_object(const std::string& json, const std::string& what) {
  try {
    Poco::JSON::Parser parser;
    auto result = parser.parse(json);
    auto object = result.extract<Poco::JSON::Object::Ptr>();
    if (object) return object;
  } catch (const std::exception&) {
  }
  throw CliError(kExitUnavailable,
                 "the server's " + what + " answer is not a JSON object: " + json.substr(0, 200));
}

HttpReply ApiClient::send(const std::string& base, const std::string& method,
                          const std::string& path, const std::string& body) {
  Poco::URI uri(base + path);
  HttpReply reply;
  try {
    auto session = open_session(uri);
    Poco::Net::HTTPRequest request(method, uri.getPathAndQuery(), Poco::Net::HTTPMessage::HTTP_1_1);
    if (!endpoints_.token.empty()) request.set("Authorization", "Bearer " + endpoints_.token);
    if (!body.empty() || method == "POST" || method == "PUT") {
      request.setContentType("application/json");
      request.setContentLength64(static_cast<Poco::Int64>(body.size()));
    }
    session->sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    Poco::StreamCopier::copyToString(in, reply.body);
    reply.status = response.getStatus();
  } catch (const Poco::Exception& e) {
    throw CliError(kExitUnavailable, "cannot reach " + base + ": " + e.displayText());
  }
  if (reply.status >= 500) throw CliError(kExitUnavailable, error_message(reply), reply.status);
  if (reply.status >= 400) throw CliError(kExitApiError, error_message(reply), reply.status);
  return reply;
}

Poco::JSON::Object::Ptr ApiClient::upload_file(const std::string& path,
                                               const std::string& file_path,
                                               const std::function<void(std::int64_t)>& on_sent) {
  std::ifstream file(file_path, std::ios::binary);
  if (!file) throw CliError(kExitUsage, "cannot read " + file_path);
  file.seekg(0, std::ios::end);
  const std::int64_t size = file.tellg();
  file.seekg(0);
  Poco::URI uri(endpoints_.command_url + path);
  HttpReply reply;
  try {
    auto session = open_session(uri);
    // The server reads at 1 MiB/s or better; a slow link gets its own time, not 30 s.
    session->setTimeout(Poco::Timespan(std::max<std::int64_t>(30, size >> 20) + 30, 0));
    Poco::Net::HTTPRequest request("POST", uri.getPathAndQuery(), Poco::Net::HTTPMessage::HTTP_1_1);
    if (!endpoints_.token.empty()) request.set("Authorization", "Bearer " + endpoints_.token);
    request.setContentType("application/gzip");
    request.setContentLength64(size);
    std::ostream& out = session->sendRequest(request);
    std::vector<char> buffer(256 * 1024);
    while (file) {
      file.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      const auto got = file.gcount();
      if (got <= 0) break;
      out.write(buffer.data(), got);
      if (!out) break;  // the server stopped reading: its answer says why
      if (on_sent) on_sent(got);
    }
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    Poco::StreamCopier::copyToString(in, reply.body);
    reply.status = response.getStatus();
  } catch (const Poco::Exception& e) {
    throw CliError(kExitUnavailable,
                   "uploading to " + endpoints_.command_url + ": " + e.displayText());
  }
  if (reply.status >= 500) throw CliError(kExitUnavailable, error_message(reply), reply.status);
  if (reply.status >= 400) throw CliError(kExitApiError, error_message(reply), reply.status);
  return parse_object(reply.body, path);
}

Poco::JSON::Object::Ptr ApiClient::command(const std::string& method, const std::string& path,
                                           const std::string& body) {
  return parse_object(send(endpoints_.command_url, method, path, body).body, path);
}

Poco::JSON::Object::Ptr ApiClient::query(const std::string& path) {
  return parse_object(send(endpoints_.query_url, "GET", path, "").body, path);
}

void ApiClient::stream_events(const std::string& path, const std::string& last_event_id,
                              const std::function<bool(const std::string&, const std::string&,
                                                       const std::string&)>& on_event) {
  Poco::URI uri(endpoints_.query_url + path);
  try {
    auto session = open_session(uri);
    session->setTimeout(Poco::Timespan(3600, 0));
    Poco::Net::HTTPRequest request("GET", uri.getPathAndQuery(), Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Accept", "text/event-stream");
    if (!endpoints_.token.empty()) request.set("Authorization", "Bearer " + endpoints_.token);
    if (!last_event_id.empty()) request.set("Last-Event-ID", last_event_id);
    session->sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    if (response.getStatus() >= 400) {
      HttpReply reply{response.getStatus(), ""};
      Poco::StreamCopier::copyToString(in, reply.body);
      throw CliError(reply.status >= 500 ? kExitUnavailable : kExitApiError, error_message(reply),
                     reply.status);
    }
    std::string line, type = "message", id, data;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) {
        if (!data.empty() && !on_event(type, id, data)) return;
        type = "message";
        data.clear();
        continue;
      }
      if (line[0] == ':') continue;  // comment / keep-alive
      const auto colon = line.find(':');
      const std::string field = line.substr(0, colon);
      std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      if (field == "event") type = value;
      if (field == "id") id = value;
      if (field == "data") data += (data.empty() ? "" : "\n") + value;
    }
  } catch (const Poco::Exception& e) {
    throw CliError(kExitUnavailable,
                   "event stream from " + endpoints_.query_url + " broke: " + e.displayText());
  }
}

}  // namespace kiln::cli
