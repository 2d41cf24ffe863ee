// One HTTP exchange over a CurlEasy: the request, its streamed body, the response. No retries,
// no auth, no redirects here (client.cpp adds those). Internal to libs/registry.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "oci/digest.h"
#include "registry/curl_handle.h"
#include "registry/options.h"

namespace kiln::registry {

// A request body curl pulls from. rewind() is called before every attempt.
class RequestBody {
 public:
  virtual ~RequestBody() = default;
  virtual std::int64_t size() const = 0;
  // Fills up to `n` bytes; 0 at the end; an Error aborts the transfer.
  virtual Result<std::size_t> read(char* buf, std::size_t n) = 0;
  virtual void rewind() = 0;
};

class StringBody : public RequestBody {
 public:
  explicit StringBody(std::string data) : data_(std::move(data)) {}
  std::int64_t size() const override { return static_cast<std::int64_t>(data_.size()); }
  Result<std::size_t> read(char* buf, std::size_t n) override;
  void rewind() override { pos_ = 0; }

 private:
  std::string data_;
  std::size_t pos_ = 0;
};

// Bytes [offset, offset + length) of an open file, read with pread (several bodies may share one
// fd). When `hasher` is set, bytes are fed to it in file order as they are first read: the hasher
// covers [0, *hashed_upto) of the file, so re-sent bytes (a retry) are not hashed twice.
class FileRangeBody : public RequestBody {
 public:
  FileRangeBody(int fd, std::int64_t offset, std::int64_t length, oci::Sha256* hasher = nullptr,
                std::int64_t* hashed_upto = nullptr)
      : fd_(fd), offset_(offset), length_(length), hasher_(hasher), hashed_upto_(hashed_upto) {}
  std::int64_t size() const override { return length_; }
  Result<std::size_t> read(char* buf, std::size_t n) override;
  void rewind() override { pos_ = 0; }

 private:
  int fd_;
  std::int64_t offset_;
  std::int64_t length_;
  std::int64_t pos_ = 0;
  oci::Sha256* hasher_;
  std::int64_t* hashed_upto_;
};

// Where a response body goes when it is not collected in memory.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual Status write(const char* data, std::size_t n) = 0;
  virtual void reset() = 0;  // before every attempt
};

struct HttpRequest {
  std::string method = "GET";  // GET HEAD POST PUT PATCH DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  RequestBody* body = nullptr;       // nullptr = no body
  ResponseSink* sink = nullptr;      // nullptr = collect up to max_body bytes in HttpResponse::body
  std::size_t max_body = 1 << 20;
  bool long_transfer = false;  // blob body: stall timeout instead of request timeout
};

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::int64_t bytes_sent = 0;

  // The first header named `name` (lower-case), or "".
  std::string header(std::string_view name) const;
};

struct TransportSettings {
  const RegistryOptions* options = nullptr;
  const TransferControl* control = nullptr;  // may be null
};

// Performs the request (resetting `easy` first, which keeps its connections). Connection errors
// and timeouts are kUnavailable / kDeadlineExceeded, a cancel is kCancelled; any HTTP status is
// a successful Result.
Result<HttpResponse> perform(CurlEasy& easy, const HttpRequest& request,
                             const TransportSettings& settings);

// The URL without its query, for logs.
std::string url_for_log(std::string_view url);

}  // namespace kiln::registry
