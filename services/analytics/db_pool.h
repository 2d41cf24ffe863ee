// A small pool of PostgreSQL connections for the query API: a pqxx::connection serves one thread
// at a time, HTTP requests come on many. Connections are opened lazily and a broken one is
// dropped, so the pool recovers by itself after PostgreSQL restarts.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/result.h"

namespace kiln::analytics {

class DbPool {
 public:
  DbPool(std::string url, int size);

  // Runs `work` in a read-only transaction on a pooled connection. A lost connection becomes
  // http::HttpError 503 "database_unavailable"; other exceptions propagate.
  void read(const std::function<void(pqxx::read_transaction&)>& work);

  // SELECT 1, for /readyz.
  Status ping();

 private:
  std::unique_ptr<pqxx::connection> acquire();
  void release(std::unique_ptr<pqxx::connection> connection);

  std::string url_;
  int size_;
  int out_ = 0;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  std::mutex mutex_;
  std::condition_variable available_;
};

}  // namespace kiln::analytics
