#include "analytics/db_pool.h"

#include "http/server.h"
#include "store/store.h"

namespace kiln::analytics {

DbPool::DbPool(std::string url, int size) : url_(std::move(url)), size_(size < 1 ? 1 : size) {}

std::unique_ptr<pqxx::connection> DbPool::acquire() {
  std::unique_lock lock(mutex_);
  available_.wait(lock, [this] { return !idle_.empty() || out_ < size_; });
  ++out_;
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    return connection;
  }
  lock.unlock();
  try {
    return store::connect(url_);
  } catch (...) {
    release(nullptr);
    throw;
  }
}

void DbPool::release(std::unique_ptr<pqxx::connection> connection) {
  {
    std::lock_guard lock(mutex_);
    --out_;
    if (connection) idle_.push_back(std::move(connection));
  }
  available_.notify_one();
}

void DbPool::read(const std::function<void(pqxx::read_transaction&)>& work) {
  std::unique_ptr<pqxx::connection> connection;
  try {
    connection = acquire();
  } catch (const pqxx::broken_connection& e) {
    throw http::HttpError(503, "database_unavailable", e.what());
  }
  try {
    pqxx::read_transaction tx(*connection);
    work(tx);
    tx.commit();
  } catch (const pqxx::broken_connection& e) {
    release(nullptr);  // never reuse a broken connection
    throw http::HttpError(503, "database_unavailable", e.what());
  } catch (...) {
    release(connection->is_open() ? std::move(connection) : nullptr);
    throw;
  }
  release(std::move(connection));
}

Status DbPool::ping() {
  try {
    read([](pqxx::read_transaction& tx) { tx.exec("SELECT 1"); });
    return {};
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kUnavailable, std::string("PostgreSQL: ") + e.what());
  }
}

}  // namespace kiln::analytics
