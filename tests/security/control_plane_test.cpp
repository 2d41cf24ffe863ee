// The control plane a build or a stolen service password meets: NATS with kiln's users (each
// service publishes only the events it produces, nobody gets in without a password) and
// PostgreSQL with kiln's roles (the query role reads and writes nothing). Real servers, set up
// with the same permissions (libs/bus/permissions.cpp) and the same SQL
// (infra/postgres/roles.sql) as infra/stack.sh.
#include <gtest/gtest.h>

#include <map>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "bus/consumer.h"
#include "bus/kv.h"
#include "bus/permissions.h"
#include "bus/topology.h"
#include "events/subjects.h"
#include "store/store.h"
#include "support/servers.h"

namespace kiln {
namespace {

const std::vector<std::string> kEventTypes = {
    "requested", "queued", "dispatched", "started", "step_started",     "step_finished",
    "built",     "pushed", "succeeded",  "failed",  "cancel_requested", "cancelled"};

// docs/design.md "Events and projections": who publishes what.
const std::map<std::string, std::set<std::string>> kProducers = {
    {"webhook-ingest", {"requested", "cancel_requested"}},
    {"scheduler", {"requested", "queued", "dispatched", "failed", "cancel_requested", "cancelled"}},
    {"builder", {"started", "step_started", "step_finished", "built", "failed", "cancelled"}},
    {"pusher", {"pushed", "succeeded", "failed", "cancelled"}},
    {"analytics", {}},
};

// A refused publish or API call gets no answer; this long is enough for an allowed one on
// loopback.
constexpr int kPublishTimeoutMs = 1000;

std::unique_ptr<bus::Bus> connect_as(const testing::NatsServer& nats, const std::string& user) {
  auto options = nats.bus_options("security-" + user, user);
  options.request_timeout_ms = 2 * kPublishTimeoutMs;
  auto connected = bus::Bus::connect(options);
  if (!connected.ok()) throw std::runtime_error(connected.error().describe());
  return std::move(connected.value());
}

bool stored(bus::Bus& admin, const std::string& subject) {
  auto last = bus::last_message(admin, bus::kEventsStream, subject);
  EXPECT_TRUE(last.ok()) << last.error().describe();
  return last.ok() && last->has_value();
}

TEST(ControlPlaneSecurityTest, NatsTurnsAwayClientsWithoutKilnsPasswords) {
  testing::NatsServer nats(testing::WithKilnUsers{});
  auto anonymous = bus::Bus::connect(bus::BusOptions{.url = nats.url(), .name = "anonymous"});
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(anonymous.error().code, ErrorCode::kUnauthenticated) << anonymous.error().describe();

  auto options = nats.bus_options("wrong-password", "builder");
  options.password += "x";
  auto wrong = bus::Bus::connect(options);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnauthenticated) << wrong.error().describe();

  EXPECT_TRUE(bus::Bus::connect(nats.bus_options("right-password", "builder")).ok());
}

TEST(ControlPlaneSecurityTest, EachServicePublishesTheEventsItProducesAndNoOthers) {
  testing::NatsServer nats(testing::WithKilnUsers{});
  auto admin = connect_as(nats, bus::kAdminUser);
  for (const auto& [service, produces] : kProducers) {
    SCOPED_TRACE(service);
    auto bus = connect_as(nats, service);
    // Every service provisions kiln's streams and buckets at start, in whatever order they come.
    ASSERT_TRUE(bus::provision(*bus).ok());
    for (const auto& type : kEventTypes) {
      const std::string build_id = "sec-" + service + "-" + type;
      const std::string subject = events::build_subject(type, build_id);
      auto published =
          bus->publish_within(subject, "forged?", build_id + ":" + type, kPublishTimeoutMs);
      if (produces.count(type) != 0) {
        EXPECT_TRUE(published.ok()) << type << ": " << published.error().describe();
        EXPECT_TRUE(stored(*admin, subject)) << type;
      } else {
        EXPECT_FALSE(published.ok()) << service << " published " << type;
        EXPECT_FALSE(stored(*admin, subject)) << service << " stored " << type;
      }
    }
  }
  // Refused by the server's permissions, not lost on the way.
  EXPECT_NE(nats.log("Publish Violation"), "");
}

TEST(ControlPlaneSecurityTest, ServicesWriteOnlyTheirOwnBucketsAndNeverPurgeTheLog) {
  testing::NatsServer nats(testing::WithKilnUsers{});
  auto ingest = connect_as(nats, "webhook-ingest");
  ASSERT_TRUE(bus::provision(*ingest).ok());
  auto own_projects = bus::KeyValue::open(*ingest, bus::kProjectsBucket, {});
  ASSERT_TRUE(own_projects.ok());
  ASSERT_TRUE((*own_projects)->put("default.app", "the real project").ok());

  auto builder = connect_as(nats, "builder");
  auto projects = bus::KeyValue::open(*builder, bus::kProjectsBucket, {});
  ASSERT_TRUE(projects.ok()) << "reading projects is every service's right";
  EXPECT_FALSE((*projects)->put("default.app", "rewritten by a build").ok());
  auto read_back = (*own_projects)->get("default.app");
  ASSERT_TRUE(read_back.ok() && read_back->has_value());
  EXPECT_EQ((*read_back)->value, "the real project");

  auto workers = bus::KeyValue::open(*builder, bus::kWorkersBucket, bus::workers_bucket_options());
  ASSERT_TRUE(workers.ok());
  EXPECT_TRUE((*workers)->put("builder-1", "heartbeat").ok()) << "its own bucket";

  const std::string subject = events::build_subject("requested", "sec-kept");
  ASSERT_TRUE(ingest->publish(subject, "kept", "sec-kept:requested:0").ok());
  EXPECT_FALSE(bus::purge_subject(*builder, bus::kEventsStream, subject).ok());
  EXPECT_FALSE(bus::purge_subject(*ingest, bus::kEventsStream, subject).ok())
      << "webhook-ingest purges only its uploads";
  EXPECT_TRUE(stored(*connect_as(nats, bus::kAdminUser), subject));
}

int count_builds(const std::string& url) {
  auto connection = store::connect(url);
  pqxx::read_transaction tx(*connection);
  return tx.exec1("SELECT count(*) FROM builds")[0].as<int>();
}

TEST(ControlPlaneSecurityTest, PostgresRolesMigrateAndRebuildAsTheWriterAndOnlyReadAsTheQueryRole) {
  testing::PostgresServer postgres;
  postgres.enable_kiln_roles();
  auto migrations = store::load_migrations(std::string(KILN_SOURCE_DIR) + "/migrations");
  ASSERT_TRUE(migrations.ok());
  {
    auto writer = store::connect(postgres.analytics_url());
    EXPECT_GT(store::migrate(*writer, *migrations), 0);
  }
  EXPECT_EQ(count_builds(postgres.query_url()), 0);

  auto reader = store::connect(postgres.query_url());
  for (const std::string statement :
       {"DELETE FROM builds", "UPDATE builds SET status = 'failed'",
        "TRUNCATE build_status_history", "CREATE TABLE planted (x int)", "DROP TABLE builds"}) {
    pqxx::work tx(*reader);
    EXPECT_THROW(tx.exec(statement), pqxx::insufficient_privilege) << statement;
  }

  // Without its password (or with another's) a role does not get in.
  std::string no_password = postgres.query_url();
  no_password = no_password.substr(0, no_password.find('?')) + "?passfile=/dev/null";
  EXPECT_THROW(store::connect(no_password), pqxx::broken_connection);

  // A rebuild replaces every projection table; the query role can still read the new ones.
  testing::NatsServer nats(testing::WithKilnUsers{});
  const std::string rebuild =
      "KILN_NATS_URL=" + nats.url() +
      " KILN_NATS_CREDENTIALS_FILE=" + testing::sh_quote(nats.credentials_file("analytics")) +
      " KILN_DATABASE_URL=" + testing::sh_quote(postgres.analytics_url()) +
      " KILN_MIGRATIONS_DIR=" + testing::sh_quote(std::string(KILN_SOURCE_DIR) + "/migrations") +
      " " + testing::sh_quote(std::string(KILN_BINARY_DIR) + "/services/analytics/kiln-analytics") +
      " rebuild";
  std::string output;
  ASSERT_EQ(testing::run_command(rebuild, &output), 0) << output;
  EXPECT_EQ(count_builds(postgres.query_url()), 0);
  pqxx::work tx(*reader);
  EXPECT_THROW(tx.exec("DELETE FROM builds"), pqxx::insufficient_privilege);
}

}  // namespace
}  // namespace kiln
