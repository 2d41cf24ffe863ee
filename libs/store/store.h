// libs/store — PostgreSQL access over libpqxx.
//
// Error convention: kiln's own checks return Result<T> (libs/common/result.h) like every kiln
// library. Calls into PostgreSQL let libpqxx's exceptions through unchanged (pqxx::failure and
// subclasses such as pqxx::broken_connection, pqxx::sql_error): callers tell a lost connection
// (retry later, 503) from a refused statement by their type, which a Result would flatten.
#pragma once

#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/result.h"

namespace kiln::store {

// A connection from a URL such as postgresql://user@127.0.0.1:5432/kiln.
std::unique_ptr<pqxx::connection> connect(const std::string& url);

struct Migration {
  int version = 0;
  std::string name;  // file name, e.g. 001_builds.sql
  std::string sql;
};

// Reads migrations/NNN_name.sql files, sorted by NNN. kInvalidArgument for a misnamed file or a
// duplicate number, kNotFound when the directory cannot be read.
Result<std::vector<Migration>> load_migrations(const std::string& directory);

// Applies every migration not yet recorded in kiln_schema_migrations, each in its own transaction
// together with its record. Safe when several processes start at once: a transaction-scoped
// advisory lock serialises them, so each migration runs exactly once. Returns the number applied.
int migrate(pqxx::connection& connection, const std::vector<Migration>& migrations);

// Runs `work` in one transaction and commits it; an exception from `work` rolls everything back
// and propagates.
void in_transaction(pqxx::connection& connection, const std::function<void(pqxx::work&)>& work);

}  // namespace kiln::store
