#include "store/store.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace kiln::store {
namespace {

// An arbitrary constant naming kiln's migration lock in pg_advisory_xact_lock's key space.
constexpr long long kMigrationLockKey = 0x6b696c6e;  // "kiln"

}  // namespace

std::unique_ptr<pqxx::connection> connect(const std::string& url) {
  return std::make_unique<pqxx::connection>(url);
}

Result<std::vector<Migration>> load_migrations(const std::string& directory) {
  std::vector<Migration> out;
  std::set<int> seen;
  std::error_code error;
  std::filesystem::directory_iterator entries(directory, error);
  if (error) {
    return make_error(ErrorCode::kNotFound,
                      "cannot read migrations directory " + directory + ": " + error.message());
  }
  for (const auto& entry : entries) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".sql") continue;
    const auto underscore = name.find('_');
    if (underscore == std::string::npos || underscore == 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        "migration file " + name + " must be named NNN_name.sql");
    }
    const std::string number = name.substr(0, underscore);
    if (number.find_first_not_of("0123456789") != std::string::npos || number.size() > 6) {
      return make_error(ErrorCode::kInvalidArgument,
                        "migration file " + name + " must start with a number");
    }
    const int version = std::stoi(number);
    if (!seen.insert(version).second) {
      return make_error(ErrorCode::kInvalidArgument,
                        "two migrations share number " + std::to_string(version));
    }
    std::ifstream in(entry.path());
    std::stringstream sql;
    sql << in.rdbuf();
    out.push_back(Migration{version, name, sql.str()});
  }
  std::sort(out.begin(), out.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  return out;
}

int migrate(pqxx::connection& connection, const std::vector<Migration>& migrations) {
  int applied = 0;
  for (const auto& migration : migrations) {
    pqxx::work tx(connection);
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
    tx.exec(
        "CREATE TABLE IF NOT EXISTS kiln_schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    const auto done = tx.exec_params("SELECT 1 FROM kiln_schema_migrations WHERE version = $1",
                                     migration.version);
    if (!done.empty()) {
      tx.commit();
      continue;
    }
    tx.exec(migration.sql);
    tx.exec_params("INSERT INTO kiln_schema_migrations (version, name) VALUES ($1, $2)",
                   migration.version, migration.name);
    tx.commit();
    ++applied;
  }
  return applied;
}

void in_transaction(pqxx::connection& connection, const std::function<void(pqxx::work&)>& work) {
  pqxx::work tx(connection);
  work(tx);
  tx.commit();
}

}  // namespace kiln::store
