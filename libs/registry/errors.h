// Registry error responses: {"errors":[{"code":"DIGEST_INVALID","message":"...","detail":...}]}
// turned into kiln::Error. Error::peer_code is the first registry error code when the body has
// one (DIGEST_INVALID, DENIED, UNAUTHORIZED, NAME_UNKNOWN, BLOB_UNKNOWN, MANIFEST_INVALID,
// MANIFEST_BLOB_UNKNOWN, TOOMANYREQUESTS, ...), else "HTTP <status>".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kiln::registry {

struct RegistryErrorEntry {
  std::string code;
  std::string message;
  std::string detail;  // the "detail" value as compact JSON text, empty when absent
};

// The entries of an error body; empty when the body is not such JSON.
std::vector<RegistryErrorEntry> parse_registry_errors(std::string_view body);

// The ErrorCode for an HTTP status and (optional) registry error code:
//   401 / UNAUTHORIZED -> kUnauthenticated, 403 / DENIED -> kPermissionDenied,
//   404 / *_UNKNOWN -> kNotFound, DIGEST_INVALID / SIZE_INVALID -> kDataLoss,
//   MANIFEST_BLOB_UNKNOWN -> kFailedPrecondition, other 4xx -> kInvalidArgument,
//   429 / TOOMANYREQUESTS -> kResourceExhausted, 5xx -> kUnavailable.
ErrorCode error_code_for(long status, std::string_view registry_code);

// `what` names the operation ("PUT manifest team/app:latest"); the message reads
// "<what>: HTTP <status>: <CODE>: <message>[; <CODE2>: ...]".
Error registry_error(long status, std::string_view body, std::string_view what);

// Statuses worth retrying: 408, 429 and 5xx other than 501 and 505.
bool is_retryable_status(long status);

// Errors worth retrying: kUnavailable, kDeadlineExceeded, kResourceExhausted (connection errors,
// timeouts, 429 and 5xx).
bool is_retryable(const Error& error);

}  // namespace kiln::registry
