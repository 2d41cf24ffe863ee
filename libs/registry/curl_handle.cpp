#include "registry/curl_handle.h"

#include <new>

#include "common/strings.h"

namespace kiln::registry {

void ensure_curl_global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CurlEasy::CurlEasy() {
  ensure_curl_global_init();
  handle_ = curl_easy_init();
  if (handle_ == nullptr) throw std::bad_alloc();
}

CurlEasy::~CurlEasy() { curl_easy_cleanup(handle_); }

CurlSlist::~CurlSlist() { curl_slist_free_all(list_); }

bool CurlSlist::append(const std::string& line) {
  curl_slist* next = curl_slist_append(list_, line.c_str());
  if (next == nullptr) return false;
  list_ = next;
  return true;
}

CurlUrl::CurlUrl() {
  ensure_curl_global_init();
  url_ = curl_url();
  if (url_ == nullptr) throw std::bad_alloc();
}

CurlUrl::~CurlUrl() { curl_url_cleanup(url_); }

bool CurlUrl::set_url(const std::string& url) {
  return curl_url_set(url_, CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK;
}

bool CurlUrl::append_query(std::string_view name, std::string_view value) {
  const std::string item = std::string(name) + "=" + std::string(value);
  return curl_url_set(url_, CURLUPART_QUERY, item.c_str(), CURLU_APPENDQUERY | CURLU_URLENCODE) ==
         CURLUE_OK;
}

std::string CurlUrl::part(CURLUPart what, unsigned int flags) const {
  char* out = nullptr;
  if (curl_url_get(url_, what, &out, flags) != CURLUE_OK || out == nullptr) return {};
  std::string result(out);
  curl_free(out);
  return result;
}

std::string CurlUrl::url() const { return part(CURLUPART_URL); }

std::string CurlUrl::origin() const {
  std::string scheme = part(CURLUPART_SCHEME);
  const std::string host = to_lower(part(CURLUPART_HOST));
  std::string port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (scheme.empty() || host.empty()) return {};
  return scheme + "://" + host + ":" + port;
}

HandlePool::Lease::~Lease() {
  if (pool_ != nullptr && easy_) pool_->release(std::move(easy_));
}

HandlePool::Lease HandlePool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto easy = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(easy));
    }
  }
  return Lease(this, std::make_unique<CurlEasy>());
}

void HandlePool::release(std::unique_ptr<CurlEasy> easy) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(easy));
}

}  // namespace kiln::registry
