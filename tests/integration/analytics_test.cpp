// kiln-analytics against a real nats-server (JetStream) and a real PostgreSQL, both started per
// test on free loopback ports: projections, redelivery, rebuild, rollups, PostgreSQL outages, the
// query API with pagination and auth, and the SSE live stream.
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "analytics/applier.h"
#include "analytics/db_pool.h"
#include "analytics/live_stream.h"
#include "analytics/query_api.h"
#include "analytics/rebuild.h"
#include "bus/bus.h"
#include "bus/consumer.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "events/envelope.h"
#include "events/subjects.h"
#include "store/store.h"
#include "support/pipeline.h"
#include "support/servers.h"
#include "support/stream_clients.h"

namespace kiln::analytics {
namespace {

namespace v1 = ::kiln::events::v1;

constexpr std::int64_t kDay = 24LL * 3600 * 1000;
// 2026-11-30T00:00:00Z: every test build happens on this day or the next.
constexpr std::int64_t kBase = 1795996800000LL;

// What a test build goes through; events_for() turns it into the events the services publish.
struct Plan {
  std::string id;
  std::string project = "demo";
  std::string tenant = "acme";
  v1::Trigger::Kind trigger = v1::Trigger::MANUAL;
  std::string outcome = "succeeded";  // succeeded | failed | cancelled | running
  std::int64_t requested_at = kBase;
  std::int64_t queue_ms = 1000;  // requested -> started
  int steps = 3;
  int cached_steps = 1;  // the first N steps are cached
  std::int64_t step_ms = 2000;
  bool start = true;  // false: cancelled (or failed) while queued
  std::string failure_reason = "RUN make: exit 2";
  bool late_started = false;  // a `started` published after the terminal event
  std::int64_t started_at() const { return requested_at + queue_ms; }
  std::int64_t finished_at() const {
    return start ? started_at() + steps * step_ms + 500 : requested_at + queue_ms;
  }
};

v1::Envelope at(const Plan& p, std::int64_t ms) {
  auto e = events::new_envelope(p.id, "test/1", 1);
  e.set_occurred_at_ms(ms);
  return e;
}

std::vector<v1::Envelope> pipeline_events(const Plan& p);

std::vector<v1::Envelope> events_for(const Plan& p) {
  auto out = pipeline_events(p);
  if (p.late_started && p.outcome != "running") {
    auto e = at(p, p.finished_at() + 100);
    e.mutable_started()->set_worker_id("worker-late");
    e.mutable_started()->set_attempt(2);
    out.push_back(e);
  }
  return out;
}

std::vector<v1::Envelope> pipeline_events(const Plan& p) {
  std::vector<v1::Envelope> out;
  auto e = at(p, p.requested_at);
  auto* r = e.mutable_requested();
  r->set_project(p.project);
  r->set_tenant(p.tenant);
  r->mutable_trigger()->set_kind(p.trigger);
  r->mutable_trigger()->set_actor("alice");
  r->mutable_git()->set_repo_url("https://git.example/acme/" + p.project + ".git");
  r->mutable_git()->set_ref("refs/heads/main");
  r->mutable_git()->set_commit("0123456789abcdef0123456789abcdef01234567");
  r->mutable_git()->set_message("Fix the build");
  r->mutable_spec()->set_image_repository("acme/" + p.project);
  r->mutable_spec()->add_tags("latest");
  r->mutable_spec()->set_registry("registry.local:5000");
  out.push_back(e);
  e = at(p, p.requested_at + 10);
  e.mutable_queued()->set_position(1);
  out.push_back(e);
  if (!p.start) {
    if (p.outcome == "cancelled") {
      e = at(p, p.finished_at() - 1);
      e.mutable_cancel_requested()->set_by("bob");
      e.mutable_cancel_requested()->set_reason("not needed");
      out.push_back(e);
      e = at(p, p.finished_at());
      e.mutable_cancelled()->set_stage(v1::QUEUE);
      e.mutable_cancelled()->set_reason("cancelled by bob");
    } else {
      e = at(p, p.finished_at());
      e.mutable_failed()->set_stage(v1::QUEUE);
      e.mutable_failed()->set_reason("queued too long");
    }
    out.push_back(e);
    return out;
  }
  e = at(p, p.started_at() - 5);
  e.mutable_dispatched()->set_attempt(1);
  out.push_back(e);
  e = at(p, p.started_at());
  e.mutable_started()->set_worker_id("worker-1");
  e.mutable_started()->set_attempt(1);
  out.push_back(e);
  const int steps_run = p.outcome == "failed" ? std::max(1, p.steps - 1) : p.steps;
  for (int s = 1; s <= steps_run; ++s) {
    const std::int64_t t0 = p.started_at() + (s - 1) * p.step_ms;
    e = at(p, t0);
    e.mutable_step_started()->set_step(s);
    e.mutable_step_started()->set_total(p.steps);
    e.mutable_step_started()->set_instruction("RUN step " + std::to_string(s));
    out.push_back(e);
    if (p.outcome == "running" && s == steps_run) return out;
    e = at(p, t0 + p.step_ms - 1);
    auto* f = e.mutable_step_finished();
    f->set_step(s);
    f->set_total(p.steps);
    f->set_instruction("RUN step " + std::to_string(s));
    f->set_cached(s <= p.cached_steps);
    f->set_duration_ms(p.step_ms - 1);
    f->set_layer_digest("sha256:layer" + std::to_string(s));
    out.push_back(e);
  }
  if (p.outcome == "failed") {
    e = at(p, p.finished_at());
    e.mutable_failed()->set_stage(v1::BUILD);
    e.mutable_failed()->set_reason(p.failure_reason);
    e.mutable_failed()->set_exit_code(2);
    out.push_back(e);
  } else if (p.outcome == "cancelled") {
    e = at(p, p.finished_at());
    e.mutable_cancelled()->set_stage(v1::BUILD);
    e.mutable_cancelled()->set_reason("superseded");
    out.push_back(e);
  } else if (p.outcome == "succeeded") {
    e = at(p, p.finished_at() - 300);
    e.mutable_built()->set_manifest_digest("sha256:manifest-" + p.id);
    e.mutable_built()->set_steps_total(p.steps);
    e.mutable_built()->set_steps_cached(p.cached_steps);
    e.mutable_built()->set_build_duration_ms(p.steps * p.step_ms);
    out.push_back(e);
    e = at(p, p.finished_at() - 10);
    auto* pushed = e.mutable_pushed();
    auto* image = pushed->add_images();
    image->set_tag("latest");
    image->set_url("registry.local:5000/acme/" + p.project + ":latest");
    pushed->set_digest("sha256:manifest-" + p.id);
    pushed->set_bytes_uploaded(1000);
    pushed->set_bytes_skipped(500);
    pushed->set_push_duration_ms(250);
    out.push_back(e);
    e = at(p, p.finished_at());
    e.mutable_succeeded()->set_image_url("registry.local:5000/acme/" + p.project + "@sha256:m");
    e.mutable_succeeded()->set_digest("sha256:manifest-" + p.id);
    out.push_back(e);
  }
  return out;
}

class AnalyticsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto connected =
        bus::Bus::connect(bus::BusOptions{.url = nats_.url(), .name = "analytics-test"});
    ASSERT_TRUE(connected.ok()) << connected.error().describe();
    bus_ = std::move(connected.value());
    ASSERT_TRUE(bus::provision(*bus_).ok());
    auto connection = store::connect(pg_.url());
    store::migrate(*connection, store::load_migrations(migrations_dir()).value());
  }

  static std::string migrations_dir() { return std::string(KILN_SOURCE_DIR) + "/migrations"; }

  ApplierOptions applier_options(int batch = 500) {
    ApplierOptions options;
    options.database_url = pg_.url();
    options.batch_size = batch;
    options.consumer.ack_wait_seconds = 1;  // redeliveries within the test's time
    options.max_backoff_ms = 400;
    return options;
  }

  // Publishes with a unique Nats-Msg-Id per event (each step is its own fact).
  std::uint64_t publish(v1::Envelope e) {
    auto encoded = events::encode(e);
    auto ack = bus_->publish(encoded.subject, encoded.data, e.event_id());
    EXPECT_TRUE(ack.ok()) << ack.error().describe();
    return ack.ok() ? ack->sequence : 0;
  }
  void publish_all(const std::vector<v1::Envelope>& events) {
    for (const auto& e : events) publish(e);
  }

  std::uint64_t last_seq() {
    auto seq = bus::last_stream_sequence(*bus_, bus::kEventsStream);
    EXPECT_TRUE(seq.ok());
    return seq.ok() ? *seq : 0;
  }

  // Runs the applier until it has applied everything in the stream.
  void drain(Applier& applier, bool ack = true) {
    const std::uint64_t target = last_seq();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (applier.checkpoint() < target) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "applier did not catch up";
      auto round = applier.run_once(ack);
      ASSERT_TRUE(round.ok()) << round.error().describe();
    }
  }

  std::string query1(const std::string& sql) {
    auto connection = store::connect(pg_.url());
    pqxx::work tx(*connection);
    auto rows = tx.exec(sql);
    if (rows.empty() || rows[0][0].is_null()) return "";
    return rows[0][0].c_str();
  }

  // Every projection table as text, rows sorted: equal snapshots mean equal tables.
  std::string snapshot() {
    std::string out;
    for (const auto& table : projection_tables()) {
      out += "== " + table + "\n" +
             query1("SELECT string_agg(t::text, E'\\n' ORDER BY t::text) FROM " + table + " t") +
             "\n";
    }
    return out;
  }

  testing::NatsServer nats_;
  testing::PostgresServer pg_;
  std::unique_ptr<bus::Bus> bus_;
  http::Metrics metrics_;
};

TEST_F(AnalyticsTest, RealisticBuildsFillEveryProjection) {
  Plan ok{.id = "b-ok", .cached_steps = 1};
  Plan failed{.id = "b-failed", .outcome = "failed", .requested_at = kBase + 60000};
  Plan cancelled{.id = "b-cancelled",
                 .outcome = "cancelled",
                 .requested_at = kBase + 120000,
                 .start = false,
                 .late_started = true};
  publish_all(events_for(ok));
  publish_all(events_for(failed));
  publish_all(events_for(cancelled));
  Applier applier(*bus_, applier_options(), metrics_);
  drain(applier);

  EXPECT_EQ(query1("SELECT string_agg(build_id || '#' || build_number || ':' || status, ',' "
                   "ORDER BY build_number) FROM builds"),
            "b-ok#1:succeeded,b-failed#2:failed,b-cancelled#3:cancelled");
  EXPECT_EQ(query1("SELECT progress || ' ' || image_url || ' ' || digest || ' ' || branch || ' ' "
                   "|| kiln_ts_to_ms(started_at) FROM builds WHERE build_id = 'b-ok'"),
            "100 registry.local:5000/acme/demo@sha256:m sha256:manifest-b-ok main " +
                std::to_string(ok.started_at()));
  EXPECT_EQ(query1("SELECT failure_stage || '|' || failure_reason || '|' || progress FROM builds "
                   "WHERE build_id = 'b-failed'"),
            "build|RUN make: exit 2|66");
  // The late `started` is history, not state.
  EXPECT_EQ(query1("SELECT status || ' ' || coalesce(worker_id, 'none') FROM builds "
                   "WHERE build_id = 'b-cancelled'"),
            "cancelled none");
  EXPECT_EQ(query1("SELECT string_agg(event_type || ':' || coalesce(to_status, '-') || ':' || "
                   "applied, ',' ORDER BY seq) FROM build_status_history "
                   "WHERE build_id = 'b-cancelled'"),
            "requested:requested:true,queued:queued:true,cancel_requested:-:false,"
            "cancelled:cancelled:true,started:building:false");
  EXPECT_EQ(query1("SELECT count(*) FROM build_steps WHERE build_id = 'b-ok' AND cached"), "1");
  EXPECT_EQ(query1("SELECT string_agg(outcome || ' ' || total_duration_ms || ' ' || "
                   "coalesce(queue_wait_ms::text, '-') || ' ' || coalesce(steps_total::text, '-')"
                   ", ',' ORDER BY requested_at) FROM build_results"),
            "succeeded " + std::to_string(ok.finished_at() - ok.requested_at) + " 1000 3,failed " +
                std::to_string(failed.finished_at() - failed.requested_at) +
                " 1000 3,cancelled 1000 - -");
  EXPECT_EQ(query1("SELECT push_time_ms || ' ' || bytes_uploaded || ' ' || bytes_skipped "
                   "FROM build_results WHERE build_id = 'b-ok'"),
            "250 1000 500");
  EXPECT_EQ(query1("SELECT builds || ' ' || succeeded || ' ' || failed || ' ' || cancelled "
                   "FROM build_performance_daily WHERE project = '*'"),
            "3 1 1 1");
  EXPECT_EQ(query1("SELECT last_seq FROM projection_checkpoint"), std::to_string(last_seq()));
}

TEST_F(AnalyticsTest, EveryEventDeliveredTwiceChangesNothing) {
  publish_all(events_for(Plan{.id = "b1"}));
  publish_all(events_for(Plan{.id = "b2", .outcome = "failed", .requested_at = kBase + 5000}));
  {
    // First delivery committed but never acked: the process "died" between commit and ack.
    Applier crashed(*bus_, applier_options(), metrics_);
    drain(crashed, /*ack=*/false);
  }
  const std::string once = snapshot();
  ASSERT_NE(once.find("b2"), std::string::npos);
  // A new process gets every message again after AckWait; the checkpoint skips them all.
  http::Metrics metrics;
  Applier restarted(*bus_, applier_options(), metrics);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  double skipped = 0;
  while (skipped < static_cast<double>(last_seq()) && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(restarted.run_once().ok());
    skipped = metrics.value("kiln_analytics_events_skipped_total");
  }
  EXPECT_EQ(skipped, static_cast<double>(last_seq())) << "every event came a second time";
  EXPECT_EQ(metrics.value("kiln_analytics_events_applied_total"), 0);
  EXPECT_EQ(snapshot(), once);
}

TEST_F(AnalyticsTest, RandomHistoriesIncrementalEqualsRebuildFromZero) {
  std::mt19937 rng(20261130);
  std::vector<v1::Envelope> all;
  const char* outcomes[] = {"succeeded", "failed", "cancelled", "running"};
  for (int i = 0; i < 40; ++i) {
    Plan p;
    p.id = "r" + std::to_string(i);
    p.project = "p" + std::to_string(rng() % 3);
    p.tenant = rng() % 4 == 0 ? "other" : "acme";
    p.trigger = static_cast<v1::Trigger::Kind>(1 + rng() % 4);
    p.outcome = outcomes[rng() % 4];
    p.requested_at = kBase + static_cast<std::int64_t>(rng() % (2 * kDay));
    p.queue_ms = 100 + rng() % 5000;
    p.steps = 1 + static_cast<int>(rng() % 5);
    p.cached_steps = static_cast<int>(rng() % (p.steps + 1));
    p.start = p.outcome == "running" || rng() % 5 != 0;
    if (!p.start && p.outcome == "succeeded") p.outcome = "failed";
    p.late_started = rng() % 3 == 0;
    auto events = events_for(p);
    // Duplicates published under another Msg-Id (a producer retry after a lost ack).
    if (rng() % 3 == 0) events.push_back(events[rng() % events.size()]);
    all.insert(all.end(), events.begin(), events.end());
  }
  // Interleave builds while keeping each build's own order.
  std::vector<v1::Envelope> interleaved;
  std::map<std::string, std::vector<v1::Envelope>> per_build;
  std::vector<std::string> order;
  for (auto& e : all) {
    if (per_build[e.build_id()].empty()) order.push_back(e.build_id());
    per_build[e.build_id()].push_back(e);
  }
  std::map<std::string, std::size_t> next;
  while (interleaved.size() < all.size()) {
    const std::string& id = order[rng() % order.size()];
    if (next[id] < per_build[id].size()) interleaved.push_back(per_build[id][next[id]++]);
  }
  // Incremental: small batches, some rounds "crash" before acking, so redeliveries mix in.
  std::size_t published = 0;
  while (published < interleaved.size()) {
    const std::size_t n = std::min<std::size_t>(1 + rng() % 40, interleaved.size() - published);
    for (std::size_t i = 0; i < n; ++i) publish(interleaved[published++]);
    Applier applier(*bus_, applier_options(1 + static_cast<int>(rng() % 30)), metrics_);
    drain(applier, /*ack=*/rng() % 3 != 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // let redeliveries come
  Applier tail(*bus_, applier_options(7), metrics_);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(tail.run_once().ok());
  const std::string incremental = snapshot();
  ASSERT_NE(incremental.find("r39"), std::string::npos);

  const auto report = rebuild(*bus_, RebuildOptions{pg_.url(), migrations_dir(), 13});
  EXPECT_EQ(report.checkpoint, last_seq());
  EXPECT_EQ(report.events, last_seq());
  EXPECT_EQ(snapshot(), incremental);
  // The live applier carries on after the swap.
  publish_all(events_for(Plan{.id = "after-rebuild", .requested_at = kBase + 3 * kDay}));
  Applier after(*bus_, applier_options(), metrics_);
  drain(after);
  EXPECT_EQ(query1("SELECT status FROM builds WHERE build_id = 'after-rebuild'"), "succeeded");
}

// The daily rollup, computed here from the plans without SQL.
TEST_F(AnalyticsTest, DailyRollupsMatchIndependentComputation) {
  std::vector<Plan> plans;
  std::mt19937 rng(7);
  for (int i = 0; i < 25; ++i) {
    Plan p;
    p.id = "d" + std::to_string(i);
    p.project = i % 2 ? "web" : "api";
    p.trigger = static_cast<v1::Trigger::Kind>(1 + i % 3);
    p.outcome = i % 5 == 0 ? "failed" : i % 7 == 0 ? "cancelled" : "succeeded";
    p.failure_reason = i % 10 == 0 ? "RUN make: exit 2" : "RUN test: exit 1";
    p.requested_at = kBase + 3600000LL * (i % 20) + static_cast<std::int64_t>(rng() % 600000);
    p.queue_ms = 500 + static_cast<std::int64_t>(rng() % 90000);
    p.steps = 2 + i % 4;
    p.cached_steps = i % 3;
    p.step_ms = 1000 + static_cast<std::int64_t>(rng() % 60000);
    plans.push_back(p);
    publish_all(events_for(p));
  }
  Applier applier(*bus_, applier_options(50), metrics_);
  drain(applier);

  for (const std::string project : {"*", "web"}) {
    std::vector<const Plan*> day;
    for (const auto& p : plans) {
      if ((project == "*" || p.project == project) && p.finished_at() < kBase + kDay) {
        day.push_back(&p);
      }
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      const std::size_t n = v.size();
      return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    };
    std::vector<double> durations, waits;
    int failed = 0, steps_total = 0, steps_cached = 0;
    std::map<std::string, int> reasons;
    std::vector<std::pair<std::int64_t, int>> edges;
    for (const Plan* p : day) {
      durations.push_back(static_cast<double>(p->finished_at() - p->requested_at));
      waits.push_back(static_cast<double>(p->queue_ms));
      if (p->outcome == "failed") {
        ++failed;
        ++reasons[p->failure_reason];
        steps_cached += std::min(p->cached_steps, std::max(1, p->steps - 1));
      } else {
        steps_cached += p->cached_steps;
      }
      steps_total += p->steps;
      edges.push_back({p->started_at(), 1});
      edges.push_back({p->finished_at(), -1});
    }
    std::sort(edges.begin(), edges.end());  // ends before starts at the same instant
    int running = 0, peak = 0;
    for (auto [t, d] : edges) peak = std::max(peak, running += d);
    double sum = 0;
    for (double d : durations) sum += d;
    std::string top;
    int top_count = 0;
    for (const auto& [reason, count] : reasons) {
      if (count > top_count) top = reason, top_count = count;
    }
    const std::string where =
        " FROM build_performance_daily WHERE day = '2026-11-30' AND project = '" + project + "'";
    SCOPED_TRACE(project);
    EXPECT_EQ(query1("SELECT builds" + where), std::to_string(day.size()));
    EXPECT_EQ(query1("SELECT failed" + where), std::to_string(failed));
    EXPECT_NEAR(std::stod(query1("SELECT avg_duration_ms" + where)), sum / day.size(), 1e-6);
    EXPECT_NEAR(std::stod(query1("SELECT median_duration_ms" + where)), median(durations), 1e-6);
    EXPECT_NEAR(std::stod(query1("SELECT median_queue_wait_ms" + where)), median(waits), 1e-6);
    EXPECT_NEAR(std::stod(query1("SELECT failure_rate" + where)),
                static_cast<double>(failed) / day.size(), 1e-9);
    EXPECT_NEAR(std::stod(query1("SELECT cache_hit_rate" + where)),
                static_cast<double>(steps_cached) / steps_total, 1e-9);
    EXPECT_EQ(query1("SELECT peak_concurrent" + where), std::to_string(peak));
    EXPECT_EQ(query1("SELECT coalesce(top_failure_reason, '')" + where), top);
  }
}

TEST_F(AnalyticsTest, PostgresStoppedAndRestartedMidStreamLosesNothing) {
  Applier applier(*bus_, applier_options(20), metrics_);
  applier.start();
  for (int i = 0; i < 10; ++i) {
    publish_all(events_for(Plan{.id = "pg" + std::to_string(i), .requested_at = kBase + i}));
  }
  const auto wait_for = [&](auto predicate, int seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!predicate() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return predicate();
  };
  ASSERT_TRUE(wait_for([&] { return applier.checkpoint() == last_seq(); }, 20));
  pg_.stop();
  for (int i = 10; i < 20; ++i) {
    publish_all(events_for(Plan{.id = "pg" + std::to_string(i), .requested_at = kBase + i}));
  }
  EXPECT_TRUE(wait_for([&] { return !applier.ready().ok(); }, 10)) << "readiness never failed";
  std::this_thread::sleep_for(std::chrono::seconds(2));  // past AckWait: redeliveries pile up
  pg_.restart();
  EXPECT_TRUE(wait_for([&] { return applier.checkpoint() == last_seq(); }, 30));
  EXPECT_TRUE(wait_for([&] { return applier.ready().ok(); }, 10));
  applier.stop();
  EXPECT_EQ(query1("SELECT count(*) FROM builds WHERE status = 'succeeded'"), "20");
  EXPECT_EQ(query1("SELECT count(*) FROM build_results"), "20");
  EXPECT_EQ(query1("SELECT count(*) FROM build_status_history"),
            query1("SELECT count(*) FROM build_status_history h WHERE h.seq <= " +
                   std::to_string(last_seq())));
  EXPECT_EQ(query1("SELECT builds FROM build_performance_daily WHERE project = '*'"), "20");
  EXPECT_EQ(query1("SELECT string_agg(build_number::text, ',' ORDER BY build_number) FROM builds"),
            "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20");
}

// --- the HTTP side --------------------------------------------------------------------------

struct Reply {
  int status = 0;
  std::string body;
};

Reply get(int port, const std::string& path, const std::string& token = "reader-secret") {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  session.setTimeout(Poco::Timespan(10, 0));
  Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!token.empty()) request.set("Authorization", "Bearer " + token);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Reply reply{response.getStatus(), ""};
  Poco::StreamCopier::copyToString(in, reply.body);
  return reply;
}

Poco::JSON::Object::Ptr json(const std::string& body) {
  return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
}

class AnalyticsApiTest : public AnalyticsTest {
 protected:
  void SetUp() override {
    AnalyticsTest::SetUp();
    auto parsed = http::TokenAuth::parse(
        "reader:reader-secret:acme:read,stranger:stranger-secret:other:read");
    ASSERT_TRUE(parsed.ok());
    auth_ = std::make_unique<http::TokenAuth>(std::move(parsed.value()));
    pool_ = std::make_unique<DbPool>(pg_.url(), 4);
    server_ = std::make_unique<http::Server>("analytics-test", http::ServerOptions{});
    api_ = std::make_unique<QueryApi>(*pool_, *bus_, *auth_, server_->metrics());
    live_ = std::make_unique<LiveStream>(*bus_, *api_, server_->metrics());
    api_->register_routes(*server_);
    live_->register_routes(*server_);
    server_->start();
    applier_ = std::make_unique<Applier>(*bus_, applier_options(), metrics_);
  }
  void TearDown() override {
    live_->stop();
    server_->stop(1000);
  }
  int port() const { return server_->port(); }

  std::unique_ptr<http::TokenAuth> auth_;
  std::unique_ptr<DbPool> pool_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<QueryApi> api_;
  std::unique_ptr<LiveStream> live_;
  std::unique_ptr<Applier> applier_;
};

TEST_F(AnalyticsApiTest, AuthIsRequiredAndTenantScoped) {
  publish_all(events_for(Plan{.id = "secret-build"}));
  drain(*applier_);
  EXPECT_EQ(get(port(), "/v1/builds", "").status, 401);
  EXPECT_EQ(get(port(), "/v1/builds", "wrong-token").status, 401);
  EXPECT_EQ(get(port(), "/v1/builds?tenant=acme", "stranger-secret").status, 403);
  EXPECT_EQ(get(port(), "/v1/analytics/daily?tenant=acme", "stranger-secret").status, 403);
  EXPECT_EQ(get(port(), "/v1/builds/secret-build", "stranger-secret").status, 404);
  // Nor its logs or live events (SSE; the WebSocket: AnalyticsWsTest.RefusesBeforeTheUpgrade).
  EXPECT_EQ(get(port(), "/v1/builds/secret-build/logs", "stranger-secret").status, 404);
  EXPECT_EQ(get(port(), "/v1/builds/secret-build/events", "stranger-secret").status, 404);
  EXPECT_EQ(json(get(port(), "/v1/builds", "stranger-secret").body)->getArray("builds")->size(),
            0u);
  auto detail = get(port(), "/v1/builds/secret-build");
  ASSERT_EQ(detail.status, 200) << detail.body;
  auto build = json(detail.body);
  EXPECT_EQ(build->getValue<std::string>("status"), "succeeded");
  EXPECT_EQ(build->getValue<int>("number"), 1);
  EXPECT_EQ(build->getArray("steps")->size(), 3u);
  EXPECT_EQ(build->getObject("result")->getValue<std::string>("outcome"), "succeeded");
  EXPECT_GT(build->getArray("history")->size(), 5u);
  auto daily = get(port(), "/v1/analytics/daily?from=2026-11-30&to=2026-12-01");
  ASSERT_EQ(daily.status, 200) << daily.body;
  EXPECT_EQ(json(daily.body)->getArray("days")->size(), 1u);
  EXPECT_EQ(get(port(), "/v1/analytics/daily?from=yesterday").status, 422);
  auto summary = get(port(), "/v1/analytics/summary?days=3650");
  ASSERT_EQ(summary.status, 200) << summary.body;
  EXPECT_EQ(json(summary.body)->getValue<int>("builds"), 1);
}

TEST_F(AnalyticsApiTest, PaginationNeverSkipsOrRepeatsWhileBuildsArrive) {
  for (int i = 0; i < 30; ++i) {
    // Pairs share a timestamp so the build id breaks the tie.
    publish_all(events_for(
        Plan{.id = "page-" + std::to_string(100 + i), .requested_at = kBase + (i / 2) * 1000}));
  }
  drain(*applier_);
  std::vector<std::string> seen;
  std::string cursor;
  int fresh = 0;
  for (int page = 0; page < 20; ++page) {
    auto reply = get(port(), "/v1/builds?limit=7" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto body = json(reply.body);
    auto builds = body->getArray("builds");
    for (std::size_t i = 0; i < builds->size(); ++i) {
      seen.push_back(
          builds->getObject(static_cast<unsigned>(i))->getValue<std::string>("build_id"));
    }
    // New builds arrive between pages.
    publish_all(events_for(
        Plan{.id = "new-" + std::to_string(fresh++), .requested_at = kBase + kDay + fresh}));
    drain(*applier_);
    if (body->isNull("next_cursor")) break;
    cursor = body->getValue<std::string>("next_cursor");
  }
  std::vector<std::string> expected;
  for (int i = 29; i >= 0; --i) expected.push_back("page-" + std::to_string(100 + i));
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(get(port(), "/v1/builds?cursor=garbage!").status, 422);
  EXPECT_EQ(get(port(), "/v1/builds?status=bogus").status, 422);
  auto filtered = json(
      get(port(), "/v1/projects/demo/builds?limit=500&since=" + std::to_string(kBase + kDay)).body);
  EXPECT_EQ(filtered->getArray("builds")->size(), static_cast<std::size_t>(fresh));
}

TEST_F(AnalyticsApiTest, SseSendsHistoryThenLiveInOrderAndResumes) {
  const std::int64_t t0 = now_ms();
  Plan p{.id = "live-1",
         .outcome = "succeeded",
         .requested_at = t0,
         .queue_ms = 10,
         .steps = 2,
         .step_ms = 10};
  auto all = events_for(p);
  // Up to the first step_started now; the rest after the client connected.
  std::size_t split = 0;
  while (!all[split].has_step_started()) ++split;
  for (std::size_t i = 0; i <= split; ++i) publish(all[i]);
  testing::publish_log_lines(*bus_, "live-1", 1, 3, p.started_at() + 1);
  drain(*applier_);

  testing::SseClient client(port(), "/v1/builds/live-1/events", "reader-secret");
  ASSERT_EQ(client.status(), 200);
  std::vector<testing::StreamFrame> frames;
  // Everything so far: requested, queued, dispatched, started, step 1 started, 3 log lines.
  while (frames.size() < split + 1 + 3) {
    auto f = client.next();
    ASSERT_TRUE(f.has_value());
    frames.push_back(*f);
  }
  testing::publish_log_lines(*bus_, "live-1", 4, 2, p.started_at() + 100);
  for (std::size_t i = split + 1; i < all.size(); ++i) publish(all[i]);
  while (auto f = client.next()) frames.push_back(*f);

  std::vector<std::string> logs, kinds;
  for (const auto& f : frames) {
    kinds.push_back(f.event);
    if (f.event == "log") logs.push_back(json(f.data)->getValue<std::string>("text"));
  }
  EXPECT_EQ(logs, (std::vector<std::string>{"line 1", "line 2", "line 3", "line 4", "line 5"}));
  EXPECT_EQ(kinds.front(), "status");
  EXPECT_EQ(kinds.back(), "done");
  EXPECT_EQ(json(frames.back().data)->getValue<std::string>("status"), "succeeded");
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "step"), 4);
  // Ids never go backwards: each is "<event seq>:<log line>".
  for (std::size_t i = 1; i < frames.size(); ++i) {
    auto a = parse_position(frames[i - 1].id);
    auto b = parse_position(frames[i].id);
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(b->event_seq >= a->event_seq && b->log_line >= a->log_line);
  }

  // Resume after the 5th frame: the rest again, nothing before.
  // Resume after the 5th frame: the rest again, nothing before. Between the two sources the
  // interleaving may differ (it follows arrival), within each source the order is the same.
  testing::SseClient resumed(port(), "/v1/builds/live-1/events", "reader-secret", frames[4].id);
  std::vector<std::string> rest;
  std::string last_event;
  while (auto f = resumed.next()) {
    rest.push_back(f->event + " " + f->data);
    last_event = f->event;
  }
  std::vector<std::string> expected;
  for (std::size_t i = 5; i < frames.size(); ++i) {
    expected.push_back(frames[i].event + " " + frames[i].data);
  }
  EXPECT_EQ(last_event, "done");
  auto only = [](const std::vector<std::string>& v, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& s : v) {
      if (s.rfind(prefix, 0) == 0) out.push_back(s);
    }
    return out;
  };
  EXPECT_EQ(only(rest, "log "), only(expected, "log "));
  EXPECT_EQ(only(rest, "status "), only(expected, "status "));
  EXPECT_EQ(only(rest, "step "), only(expected, "step "));
  EXPECT_EQ(rest.size(), expected.size());

  auto logs_reply = get(port(), "/v1/builds/live-1/logs?from=3");
  ASSERT_EQ(logs_reply.status, 200) << logs_reply.body;
  auto body = json(logs_reply.body);
  EXPECT_EQ(body->getArray("lines")->size(), 3u);
  EXPECT_EQ(body->getValue<int>("next"), 6);
}

}  // namespace
}  // namespace kiln::analytics
