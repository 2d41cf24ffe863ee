// libs/store — PostgreSQL access over libpqxx.
//
// Error convention: exceptions. libpqxx reports failures as pqxx::failure (and subclasses such as
// pqxx::broken_connection, pqxx::sql_error); this library adds StoreError for its own checks and
// lets libpqxx's exceptions through unchanged. Callers at a service boundary catch
// std::exception, report it and decide (retry later, 503, exit).
#pragma once

#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln::store {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A connection from a URL such as postgresql://user@127.0.0.1:5432/kiln.
std::unique_ptr<pqxx::connection> connect(const std::string& url);

struct Migration {
  int version = 0;
  std::string name;  // file name, e.g. 001_builds.sql
  std::string sql;
};

// Reads migrations/NNN_name.sql files, sorted by NNN; duplicate numbers are an error.
std::vector<Migration> load_migrations(const std::string& directory);

// Applies every migration not yet recorded in kiln_schema_migrations, each in its own transaction
// together with its record. Safe when several processes start at once: a transaction-scoped
// advisory lock serialises them, so each migration runs exactly once. Returns the number applied.
int migrate(pqxx::connection& connection, const std::vector<Migration>& migrations);

// Runs `work` in one transaction and commits it; an exception from `work` rolls everything back
// and propagates.
void in_transaction(pqxx::connection& connection, const std::function<void(pqxx::work&)>& work);

}  // namespace kiln::store
