// libs/store against a real PostgreSQL started by the test.
#include "store/store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/servers.h"

namespace kiln::store {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("kiln-migrations");
    write("001_widgets.sql", "CREATE TABLE widgets (id serial PRIMARY KEY, name text NOT NULL);");
    write("002_seed.sql", "INSERT INTO widgets (name) VALUES ('first');");
    write("010_index.sql", "CREATE INDEX widgets_name ON widgets (name);");
  }
  void TearDown() override { testing::remove_tree(dir_); }

  void write(const std::string& name, const std::string& sql) {
    std::ofstream(dir_ + "/" + name) << sql;
  }

  int count(const std::string& sql) {
    auto conn = connect(pg_.url());
    pqxx::work tx(*conn);
    return tx.exec1(sql)[0].as<int>();
  }

  testing::PostgresServer pg_;
  std::string dir_;
};

TEST_F(StoreTest, MigrationsLoadInNumericOrder) {
  auto loaded = load_migrations(dir_);
  ASSERT_TRUE(loaded.ok()) << loaded.error().describe();
  const auto& migrations = *loaded;
  ASSERT_EQ(migrations.size(), 3u);
  EXPECT_EQ(migrations[0].version, 1);
  EXPECT_EQ(migrations[2].version, 10);
  EXPECT_EQ(migrations[2].name, "010_index.sql");
}

TEST_F(StoreTest, DuplicateNumbersAreRejected) {
  write("002_other.sql", "SELECT 1;");
  auto duplicate = load_migrations(dir_);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, kiln::ErrorCode::kInvalidArgument);
  EXPECT_EQ(duplicate.error().message, "two migrations share number 2");
}

TEST_F(StoreTest, MisnamedFilesAndMissingDirectoriesAreRejected) {
  auto missing = load_migrations(dir_ + "/nowhere");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, kiln::ErrorCode::kNotFound) << missing.error().describe();
  write("abc_x.sql", "SELECT 1;");
  auto misnamed = load_migrations(dir_);
  ASSERT_FALSE(misnamed.ok());
  EXPECT_EQ(misnamed.error().code, kiln::ErrorCode::kInvalidArgument);
  EXPECT_EQ(misnamed.error().message, "migration file abc_x.sql must start with a number");
}

TEST_F(StoreTest, ApplyingTwiceAppliesOnce) {
  auto conn = connect(pg_.url());
  const auto migrations = load_migrations(dir_).value();
  EXPECT_EQ(migrate(*conn, migrations), 3);
  EXPECT_EQ(migrate(*conn, migrations), 0);
  EXPECT_EQ(count("SELECT count(*) FROM widgets"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM kiln_schema_migrations"), 3);
}

TEST_F(StoreTest, TwoProcessesMigratingAtOnceApplyEachMigrationOnce) {
  const auto migrations = load_migrations(dir_).value();
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      try {
        auto conn = connect(pg_.url());
        migrate(*conn, migrations);
        _exit(0);
      } catch (...) {
        _exit(1);
      }
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a migrating process failed";
  }
  EXPECT_EQ(count("SELECT count(*) FROM widgets"), 1) << "the seed migration ran twice";
  EXPECT_EQ(count("SELECT count(*) FROM kiln_schema_migrations"), 3);
}

TEST_F(StoreTest, KilnsOwnMigrationsApply) {
  const std::string dir = std::string(KILN_SOURCE_DIR) + "/migrations";
  const auto migrations = load_migrations(dir).value();
  auto conn = connect(pg_.url());
  EXPECT_EQ(migrate(*conn, migrations), static_cast<int>(migrations.size()));
  EXPECT_EQ(migrate(*conn, migrations), 0);
}

TEST_F(StoreTest, FailedTransactionLeavesNothingBehind) {
  auto conn = connect(pg_.url());
  migrate(*conn, load_migrations(dir_).value());
  EXPECT_THROW(in_transaction(*conn,
                              [](pqxx::work& tx) {
                                tx.exec("INSERT INTO widgets (name) VALUES ('second')");
                                tx.exec("INSERT INTO widgets (name) VALUES (NULL)");
                              }),
               pqxx::sql_error);
  EXPECT_EQ(count("SELECT count(*) FROM widgets"), 1);
}

}  // namespace
}  // namespace kiln::store
