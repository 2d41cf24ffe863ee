#include "registry/errors.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <sstream>

namespace kiln::registry {

std::vector<RegistryErrorEntry> parse_registry_errors(std::string_view body) {
  std::vector<RegistryErrorEntry> out;
  if (body.empty() || body.front() != '{') return out;
  try {
    Poco::JSON::Parser parser;
    auto root = parser.parse(std::string(body)).extract<Poco::JSON::Object::Ptr>();
    if (!root) return out;
    auto errors = root->getArray("errors");
    if (!errors) return out;
    for (std::size_t i = 0; i < errors->size(); ++i) {
      auto obj = errors->getObject(static_cast<unsigned>(i));
      if (!obj) continue;
      RegistryErrorEntry e;
      e.code = obj->optValue<std::string>("code", "");
      e.message = obj->optValue<std::string>("message", "");
      if (obj->has("detail")) {
        const auto detail = obj->get("detail");
        if (detail.isString()) {
          e.detail = detail.convert<std::string>();
        } else if (!detail.isEmpty()) {
          std::ostringstream text;
          Poco::JSON::Stringifier::condense(detail, text);
          e.detail = text.str();
          if (e.detail == "{}" || e.detail == "null") e.detail.clear();
        }
      }
      out.push_back(std::move(e));
    }
  } catch (const std::exception&) {
    out.clear();
  }
  return out;
}

ErrorCode error_code_for(long status, std::string_view code) {
  if (code == "UNAUTHORIZED") return ErrorCode::kUnauthenticated;
  if (code == "DENIED") return ErrorCode::kPermissionDenied;
  if (code == "DIGEST_INVALID" || code == "SIZE_INVALID") return ErrorCode::kDataLoss;
  if (code == "MANIFEST_BLOB_UNKNOWN") return ErrorCode::kFailedPrecondition;
  if (code == "TOOMANYREQUESTS") return ErrorCode::kResourceExhausted;
  if (code == "UNSUPPORTED") return ErrorCode::kFailedPrecondition;
  if (code.size() > 8 && code.substr(code.size() - 8) == "_UNKNOWN") return ErrorCode::kNotFound;
  if (status == 401) return ErrorCode::kUnauthenticated;
  if (status == 403) return ErrorCode::kPermissionDenied;
  if (status == 404) return ErrorCode::kNotFound;
  if (status == 408) return ErrorCode::kDeadlineExceeded;
  if (status == 409) return ErrorCode::kAlreadyExists;
  if (status == 429) return ErrorCode::kResourceExhausted;
  if (status >= 500) return ErrorCode::kUnavailable;
  if (status >= 400) return ErrorCode::kInvalidArgument;
  return ErrorCode::kInternal;
}

Error registry_error(long status, std::string_view body, std::string_view what) {
  const auto entries = parse_registry_errors(body);
  std::string message = std::string(what) + ": HTTP " + std::to_string(status);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    message += i == 0 ? ": " : "; ";
    message += entries[i].code;
    if (!entries[i].message.empty()) message += ": " + entries[i].message;
    if (!entries[i].detail.empty()) message += " (" + entries[i].detail.substr(0, 300) + ")";
  }
  if (entries.empty() && !body.empty() && body.size() < 300 && body.front() != '<') {
    std::string text(body);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    message += ": " + text;
  }
  const std::string code = entries.empty() ? std::string() : entries.front().code;
  return make_error(error_code_for(status, code), std::move(message),
                    code.empty() ? "HTTP " + std::to_string(status) : code);
}

bool is_retryable_status(long status) {
  return status == 408 || status == 429 || (status >= 500 && status != 501 && status != 505);
}

bool is_retryable(const Error& error) {
  return error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kDeadlineExceeded ||
         error.code == ErrorCode::kResourceExhausted;
}

}  // namespace kiln::registry
