// The ceiling for bench/pusher_bench.sh: uploads blob files to a registry as fast as plain HTTP
// allows — N threads, one keep-alive libcurl handle each, POST a session then PUT the file
// (streamed, digest taken from the file name: no hashing on this side, no HEADs, no retries).
//
//   pusher_upload_ceiling HOST:PORT REPOSITORY PARALLEL FILE...
//
// Prints "<bytes> <milliseconds>" on success; exits 1 with a message on the first failure.
#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

size_t read_file(char* buffer, size_t size, size_t n, void* stream) {
  return std::fread(buffer, 1, size * n, static_cast<std::FILE*>(stream));
}

size_t location_header(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  if (line.size() > 9 && strncasecmp(line.c_str(), "location:", 9) == 0) {
    auto value = line.substr(9);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n ") + 1);
    *static_cast<std::string*>(out) = value;
  }
  return size * n;
}

// POST + PUT of one file on `curl`; an error message, or empty.
std::string upload(CURL* curl, const std::string& base, const std::string& repository,
                   const std::string& path) {
  std::string location;
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, (base + "/v2/" + repository + "/blobs/uploads/").c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, location_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &location);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  long status = 0;
  if (auto rc = curl_easy_perform(curl); rc != CURLE_OK) return curl_easy_strerror(rc);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (status != 202 || location.empty()) return "POST answered " + std::to_string(status);
  if (location.rfind("http", 0) != 0) location = base + location;
  location += (location.find('?') == std::string::npos ? "?" : "&");
  location += "digest=sha256:" + std::filesystem::path(path).filename().string();

  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return "cannot open " + path;
  curl_easy_reset(curl);
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/octet-stream");
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, location.c_str());
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_file);
  curl_easy_setopt(curl, CURLOPT_READDATA, file);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
                   static_cast<curl_off_t>(std::filesystem::file_size(path)));
  curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  const auto rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  std::fclose(file);
  if (rc != CURLE_OK) return curl_easy_strerror(rc);
  if (status != 201) return "PUT answered " + std::to_string(status);
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: pusher_upload_ceiling HOST:PORT REPOSITORY PARALLEL FILE...\n";
    return 2;
  }
  const std::string base = std::string("http://") + argv[1];
  const std::string repository = argv[2];
  const int parallel = std::max(1, std::atoi(argv[3]));
  std::vector<std::string> files(argv + 4, argv + argc);
  std::uintmax_t bytes = 0;
  for (const auto& f : files) bytes += std::filesystem::file_size(f);

  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  const auto begin = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < parallel; ++t) {
    threads.emplace_back([&] {
      CURL* curl = curl_easy_init();
      for (std::size_t i = next++; i < files.size() && !failed; i = next++) {
        if (auto error = upload(curl, base, repository, files[i]); !error.empty()) {
          std::cerr << "pusher_upload_ceiling: " << files[i] << ": " << error << "\n";
          failed = true;
        }
      }
      curl_easy_cleanup(curl);
    });
  }
  for (auto& t : threads) t.join();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - begin)
                      .count();
  curl_global_cleanup();
  if (failed) return 1;
  std::cout << bytes << " " << ms << "\n";
  return 0;
}
