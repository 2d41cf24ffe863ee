// The one place that owns libcurl handles. Every CURL*, curl_slist* and CURLU* in kiln's registry
// client lives in one of these RAII types; no other file calls a curl *_cleanup function.
// Internal to libs/registry (the public headers do not include curl).
#pragma once

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::registry {

// curl_global_init exactly once per process (thread-safe; never cleaned up).
void ensure_curl_global_init();

// An easy handle. curl_easy_reset between requests keeps its connection cache, so a handle that
// is reused talks to the registry over the same keep-alive connection.
class CurlEasy {
 public:
  CurlEasy();
  ~CurlEasy();
  CurlEasy(const CurlEasy&) = delete;
  CurlEasy& operator=(const CurlEasy&) = delete;

  CURL* get() const { return handle_; }
  void reset() { curl_easy_reset(handle_); }

 private:
  CURL* handle_;
};

// A header list for CURLOPT_HTTPHEADER.
class CurlSlist {
 public:
  CurlSlist() = default;
  ~CurlSlist();
  CurlSlist(const CurlSlist&) = delete;
  CurlSlist& operator=(const CurlSlist&) = delete;

  // False when curl could not allocate (the list is left as it was).
  bool append(const std::string& line);
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

// A parsed URL (curl's URL API), used to resolve Location headers and to add query parameters.
class CurlUrl {
 public:
  CurlUrl();
  ~CurlUrl();
  CurlUrl(const CurlUrl&) = delete;
  CurlUrl& operator=(const CurlUrl&) = delete;

  // Sets the whole URL; a relative `url` is resolved against the one already set.
  bool set_url(const std::string& url);
  // Appends "name=value" to the query, URL-encoding value.
  bool append_query(std::string_view name, std::string_view value);
  // The full URL; empty on failure.
  std::string url() const;
  // scheme, host, port as one string ("http://127.0.0.1:5000"), the port made explicit.
  std::string origin() const;

 private:
  std::string part(CURLUPart what, unsigned int flags = 0) const;
  CURLU* url_;
};

// Easy handles kept for reuse, so that parallel workers each get a handle with a warm connection.
class HandlePool {
 public:
  class Lease {
   public:
    Lease(HandlePool* pool, std::unique_ptr<CurlEasy> easy) : pool_(pool), easy_(std::move(easy)) {}
    ~Lease();
    Lease(Lease&&) = default;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    CurlEasy& operator*() const { return *easy_; }
    CurlEasy* operator->() const { return easy_.get(); }

   private:
    HandlePool* pool_;
    std::unique_ptr<CurlEasy> easy_;
  };

  explicit HandlePool(std::size_t max_idle) : max_idle_(max_idle) {}
  // An idle handle when there is one, else a new one.
  Lease acquire();

 private:
  void release(std::unique_ptr<CurlEasy> easy);
  std::mutex mutex_;
  std::vector<std::unique_ptr<CurlEasy>> idle_;
  std::size_t max_idle_;
};

}  // namespace kiln::registry
