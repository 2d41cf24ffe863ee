#include "registry/http.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "common/strings.h"

namespace kiln::registry {
namespace {

struct TransferState {
  const HttpRequest* request = nullptr;
  const TransferControl* control = nullptr;
  HttpResponse* response = nullptr;
  std::optional<Error> body_error;  // from the request body or the sink
  bool cancelled = false;
  curl_off_t reported_up = 0;
  curl_off_t reported_down = 0;
};

std::size_t read_cb(char* buf, std::size_t size, std::size_t nitems, void* userdata) {
  auto* st = static_cast<TransferState*>(userdata);
  auto n = st->request->body->read(buf, size * nitems);
  if (!n) {
    st->body_error = n.error();
    return CURL_READFUNC_ABORT;
  }
  return *n;
}

int seek_cb(void* userdata, curl_off_t offset, int origin) {
  auto* st = static_cast<TransferState*>(userdata);
  if (origin != SEEK_SET || offset != 0) return CURL_SEEKFUNC_CANTSEEK;
  st->request->body->rewind();
  return CURL_SEEKFUNC_OK;
}

std::size_t header_cb(char* data, std::size_t size, std::size_t nitems, void* userdata) {
  auto* st = static_cast<TransferState*>(userdata);
  const std::size_t n = size * nitems;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.substr(0, 5) == "HTTP/") {
    st->response->headers.clear();  // a new response (after 100 Continue)
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  st->response->headers.emplace_back(to_lower(line.substr(0, colon)), trim(line.substr(colon + 1)));
  return n;
}

std::size_t write_cb(char* data, std::size_t size, std::size_t nitems, void* userdata) {
  auto* st = static_cast<TransferState*>(userdata);
  const std::size_t n = size * nitems;
  if (st->request->sink != nullptr) {
    if (auto s = st->request->sink->write(data, n); !s) {
      st->body_error = s.error();
      return 0;  // CURLE_WRITE_ERROR
    }
    return n;
  }
  std::string& body = st->response->body;
  if (body.size() < st->request->max_body) {
    body.append(data, std::min(n, st->request->max_body - body.size()));
  }
  return n;
}

int xferinfo_cb(void* userdata, curl_off_t /*dltotal*/, curl_off_t dlnow, curl_off_t /*ultotal*/,
                curl_off_t ulnow) {
  auto* st = static_cast<TransferState*>(userdata);
  if (st->control == nullptr) return 0;
  if (st->control->cancel && st->control->cancel()) {
    st->cancelled = true;
    return 1;
  }
  if (st->control->on_bytes) {
    const curl_off_t delta = (ulnow - st->reported_up) + (dlnow - st->reported_down);
    if (delta > 0) {
      st->reported_up = ulnow;
      st->reported_down = dlnow;
      st->control->on_bytes(static_cast<std::int64_t>(delta));
    }
  }
  return 0;
}

Error transport_error(CURLcode code, const char* errbuf, const HttpRequest& request) {
  std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
  const std::string message = request.method + " " + url_for_log(request.url) + ": " + detail;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return make_error(ErrorCode::kDeadlineExceeded, message);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return make_error(ErrorCode::kFailedPrecondition, message);
    case CURLE_OUT_OF_MEMORY:
      return make_error(ErrorCode::kResourceExhausted, message);
    default:
      return make_error(ErrorCode::kUnavailable, message);
  }
}

}  // namespace

Result<std::size_t> StringBody::read(char* buf, std::size_t n) {
  const std::size_t k = std::min(n, data_.size() - pos_);
  std::memcpy(buf, data_.data() + pos_, k);
  pos_ += k;
  return k;
}

Result<std::size_t> FileRangeBody::read(char* buf, std::size_t n) {
  const std::int64_t left = length_ - pos_;
  if (left <= 0) return std::size_t{0};
  const std::size_t want = static_cast<std::size_t>(std::min<std::int64_t>(left, n));
  const std::int64_t at = offset_ + pos_;
  ssize_t got;
  do {
    got = ::pread(fd_, buf, want, at);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    return make_error(ErrorCode::kInternal, std::string("reading blob: ") + std::strerror(errno));
  }
  if (got == 0) {
    return make_error(ErrorCode::kDataLoss, "blob file is shorter than its descriptor says");
  }
  if (hasher_ != nullptr && hashed_upto_ != nullptr && at <= *hashed_upto_ &&
      at + got > *hashed_upto_) {
    const std::int64_t skip = *hashed_upto_ - at;
    hasher_->update(buf + skip, static_cast<std::size_t>(got - skip));
    *hashed_upto_ = at + got;
  }
  pos_ += got;
  return static_cast<std::size_t>(got);
}

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

std::string url_for_log(std::string_view url) { return std::string(url.substr(0, url.find('?'))); }

Result<HttpResponse> perform(CurlEasy& easy, const HttpRequest& request,
                             const TransportSettings& settings) {
  const RegistryOptions& opt = *settings.options;
  CURL* h = easy.get();
  easy.reset();

  HttpResponse response;
  TransferState st;
  st.control = settings.control;
  st.response = &response;
  StringBody empty_body("");
  HttpRequest effective = request;
  if (effective.body == nullptr && (request.method == "PUT" || request.method == "PATCH")) {
    effective.body = &empty_body;
  }
  st.request = &effective;

  CurlSlist headers;
  for (const auto& line : request.headers) headers.append(line);
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_USERAGENT, opt.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opt.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!opt.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, opt.ca_file.c_str());
  if (request.long_transfer) {
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 0L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                     std::max(1L, static_cast<long>(opt.stall_timeout.count() / 1000)));
  } else {
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(opt.request_timeout.count()));
  }
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024);

  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &st);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &st);

  if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "POST" && effective.body == nullptr) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
    headers.append("Content-Type:");
  } else if (effective.body != nullptr) {
    effective.body->rewind();
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(effective.body->size()));
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &st);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &st);
    if (request.method != "PUT") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  if (request.sink != nullptr) request.sink->reset();
  const CURLcode rc = curl_easy_perform(h);
  // Do not leave pointers to this stack frame in the handle.
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);

  if (rc != CURLE_OK) {
    if (st.cancelled) {
      return make_error(ErrorCode::kCancelled,
                        request.method + " " + url_for_log(request.url) + " cancelled");
    }
    if (st.body_error) return *st.body_error;
    return transport_error(rc, errbuf, request);
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  curl_off_t sent = 0;
  curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &sent);
  response.bytes_sent = static_cast<std::int64_t>(sent);
  return response;
}

}  // namespace kiln::registry
