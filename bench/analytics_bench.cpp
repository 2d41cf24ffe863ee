// kiln-analytics against a real nats-server and PostgreSQL (fresh, on free loopback ports):
//   (a) events applied per second by the applier with its default batch size, against
//   (b) the naive way, one event per transaction (batch size 1), in the same run, same stream;
//   (c) `rebuild` from zero of every event in the stream, extrapolated to 1,000,000;
//   (d) projection lag (publish → committed) p50/p99 at a steady 1,000 events/s;
//   (e) GET /v1/builds latency p50/p99 over 200 queries with filters and cursor pagination, with
//       many builds in the table (inserted directly with INSERT ... SELECT generate_series: the
//       applier would need minutes for a million builds, and it is measured in (a) already).
// Build histories are realistic: requested … succeeded (11 events), 10% failing in a step,
// 5% cancelled while queued, 8 builds in flight at a time, 20 projects, 3 tenants, 4 triggers.
//
// Usage: analytics_bench [--events=N] [--full] [--rows=N] [--lag-seconds=N]
//   --events  events in the stream for (a) and (c) (default 200000; --full: 1000000)
//   --rows    builds in the table for (e) (default 1000000)
// Numbers only; no pass/fail.
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "analytics/applier.h"
#include "analytics/db_pool.h"
#include "analytics/query_api.h"
#include "analytics/rebuild.h"
#include "bus/bus.h"
#include "bus/consumer.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "common/log.h"
#include "events/envelope.h"
#include "http/auth.h"
#include "http/server.h"
#include "store/store.h"
#include "support/servers.h"

namespace {

using namespace kiln;
namespace v1 = ::kiln::events::v1;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;

struct Options {
  std::size_t events = 200000;
  std::size_t rows = 1000000;
  int lag_seconds = 15;
  int lag_rate = 1000;
  int naive_seconds = 8;
  int queries = 200;
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "analytics_bench: %s\n", what.c_str());
  std::exit(1);
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
  return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// The events of build number `n`, requested at `requested_at`.
std::vector<v1::Envelope> build_history(std::size_t n, std::int64_t requested_at) {
  const std::string id = "bench-" + std::to_string(n) + "-" + random_id().substr(0, 8);
  const std::string project = "proj-" + std::to_string(n % 20);
  std::int64_t t = requested_at;
  std::vector<v1::Envelope> out;
  auto next = [&](std::int64_t advance_ms) -> v1::Envelope& {
    t += advance_ms;
    out.push_back(events::new_envelope(id, "bench/1", 1));
    out.back().set_occurred_at_ms(t);
    return out.back();
  };
  auto* r = next(0).mutable_requested();
  r->set_project(project);
  r->set_tenant(n % 3 == 0 ? "globex" : "acme");
  static const v1::Trigger::Kind kTriggers[] = {v1::Trigger::WEBHOOK, v1::Trigger::MANUAL,
                                                v1::Trigger::SCHEDULE, v1::Trigger::RETRY};
  r->mutable_trigger()->set_kind(kTriggers[(n / 7) % 4]);
  r->mutable_trigger()->set_actor("dev-" + std::to_string(n % 13));
  r->mutable_git()->set_repo_url("https://git.example/acme/" + project + ".git");
  r->mutable_git()->set_ref(n % 4 == 0 ? "refs/heads/main"
                                       : "refs/heads/feature-" + std::to_string(n % 5));
  r->mutable_git()->set_commit(sha256_hex(id).substr(0, 40));
  r->mutable_git()->set_message("Change " + std::to_string(n));
  r->mutable_spec()->set_image_repository("acme/" + project);
  r->mutable_spec()->add_tags("latest");
  r->mutable_spec()->set_registry("registry.local:5000");
  next(15).mutable_queued()->set_position(static_cast<int>(n % 4) + 1);
  const bool cancelled = n % 20 == 7;
  const bool failed = n % 10 == 3;
  if (cancelled) {
    auto* c = next(2000).mutable_cancel_requested();
    c->set_by("dev-1");
    c->set_reason("not needed");
    auto* x = next(20).mutable_cancelled();
    x->set_stage(v1::QUEUE);
    x->set_reason("cancelled by dev-1");
    return out;
  }
  next(1500).mutable_dispatched()->set_attempt(1);
  auto* started = next(40).mutable_started();
  started->set_worker_id("worker-" + std::to_string(n % 4));
  started->set_attempt(1);
  const int steps = 2;
  for (int s = 1; s <= steps; ++s) {
    auto* ss = next(5).mutable_step_started();
    ss->set_step(s);
    ss->set_total(steps);
    ss->set_instruction("RUN make step" + std::to_string(s));
    if (failed && s == 2) {
      auto* f = next(3000).mutable_failed();
      f->set_stage(v1::BUILD);
      f->set_reason("RUN make step2: exit 2");
      f->set_exit_code(2);
      return out;
    }
    const std::int64_t took = (s == 1 && n % 2 == 0) ? 3 : 4000;
    auto* sf = next(took).mutable_step_finished();
    sf->set_step(s);
    sf->set_total(steps);
    sf->set_instruction("RUN make step" + std::to_string(s));
    sf->set_cached(took < 10);
    sf->set_duration_ms(took);
    sf->set_layer_digest("sha256:" + sha256_hex(id + std::to_string(s)));
  }
  auto* b = next(200).mutable_built();
  b->set_manifest_digest("sha256:" + sha256_hex(id));
  b->set_steps_total(steps);
  b->set_steps_cached(n % 2 == 0 ? 1 : 0);
  b->set_build_duration_ms(8000);
  b->set_image_size(12 << 20);
  auto* p = next(900).mutable_pushed();
  auto* image = p->add_images();
  image->set_tag("latest");
  image->set_url("registry.local:5000/acme/" + project + ":latest");
  p->set_digest("sha256:" + sha256_hex(id));
  p->set_bytes_uploaded(4 << 20);
  p->set_bytes_skipped(8 << 20);
  p->set_push_duration_ms(850);
  auto* ok = next(10).mutable_succeeded();
  ok->set_image_url("registry.local:5000/acme/" + project + "@sha256:" + sha256_hex(id));
  ok->set_digest("sha256:" + sha256_hex(id));
  return out;
}

// Builds in flight at once: their events interleave in the stream as they would in production.
constexpr std::size_t kInFlight = 8;

// Appends the events of `count` builds starting at number `first`, requested from `start_ms`
// every `spacing_ms`, interleaved kInFlight builds at a time.
void generate(std::size_t first, std::size_t count, std::int64_t start_ms, std::int64_t spacing_ms,
              std::vector<v1::Envelope>& out) {
  for (std::size_t group = 0; group < count; group += kInFlight) {
    std::vector<std::vector<v1::Envelope>> histories;
    for (std::size_t i = group; i < std::min(count, group + kInFlight); ++i) {
      histories.push_back(
          build_history(first + i, start_ms + static_cast<std::int64_t>(i) * spacing_ms));
    }
    for (std::size_t k = 0;; ++k) {
      bool any = false;
      for (auto& h : histories) {
        if (k < h.size()) {
          out.push_back(std::move(h[k]));
          any = true;
        }
      }
      if (!any) break;
    }
  }
}

std::string database_url(const testing::PostgresServer& pg, const std::string& name) {
  std::string url = pg.url();
  return url.substr(0, url.rfind('/') + 1) + name;
}

std::string create_database(const testing::PostgresServer& pg, const std::string& name) {
  auto admin = store::connect(pg.url());
  pqxx::nontransaction tx(*admin);
  tx.exec("CREATE DATABASE " + tx.quote_name(name));
  const std::string url = database_url(pg, name);
  auto connection = store::connect(url);
  store::migrate(*connection, store::load_migrations(KILN_SOURCE_DIR "/migrations").value());
  return url;
}

analytics::ApplierOptions applier_options(const std::string& url, const std::string& durable,
                                          int batch_size) {
  analytics::ApplierOptions options;
  options.database_url = url;
  if (batch_size > 0) options.batch_size = batch_size;  // else: the service's default
  options.consumer.durable = durable;
  return options;
}

std::uint64_t last_seq(bus::Bus& bus) {
  auto seq = bus::last_stream_sequence(bus, bus::kEventsStream);
  if (!seq.ok()) die(seq.error().describe());
  return *seq;
}

// Runs the applier's rounds until it has applied `target` or `max_seconds` passed.
double drive(analytics::Applier& applier, std::uint64_t from, std::uint64_t target,
             double max_seconds, std::uint64_t* applied) {
  const auto start = Clock::now();
  while (applier.checkpoint() < target && seconds_since(start) < max_seconds) {
    auto round = applier.run_once();
    if (!round.ok()) die("apply: " + round.error().describe());
  }
  const double elapsed = seconds_since(start);
  *applied = applier.checkpoint() - from;
  return elapsed;
}

// Publishes in chunks, each waited for: nats-server answers "no responders" when its stream
// ingest queue overflows, so a chunk with failures is sent again (the Msg-Id makes the events that
// did arrive duplicates, which the server drops).
void publish_all(bus::Bus& bus, std::vector<v1::Envelope>& events) {
  constexpr std::size_t kChunk = 2000;
  auto publisher = bus::AsyncPublisher::create(bus, 512);
  if (!publisher.ok()) die(publisher.error().describe());
  std::vector<events::Encoded> encoded;
  encoded.reserve(events.size());
  for (auto& e : events) encoded.push_back(events::encode(e));
  for (std::size_t first = 0; first < events.size(); first += kChunk) {
    const std::size_t last = std::min(events.size(), first + kChunk);
    for (int attempt = 1;; ++attempt) {
      for (std::size_t i = first; i < last; ++i) {
        // Every event is its own fact (steps share a type and attempt): the event id is the Msg-Id.
        if (auto s =
                (*publisher)->publish(encoded[i].subject, encoded[i].data, events[i].event_id());
            !s.ok()) {
          die(s.error().describe());
        }
      }
      auto stats = (*publisher)->wait(60000);
      if (!stats.ok()) die(stats.error().describe());
      if (stats->failed == 0) break;
      if (attempt == 5) die("publish keeps failing: " + stats->first_error);
      std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
    }
  }
}

struct LagResult {
  std::size_t events = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0, achieved_rate = 0;
};

// Publishes at a steady rate while the applier runs on its own thread; the lag of an event is the
// time from the start of its publish to the first moment the applier's committed checkpoint
// covers it (sampled every millisecond).
LagResult measure_lag(bus::Bus& bus, analytics::Applier& applier, const Options& options) {
  std::vector<v1::Envelope> events;
  const std::size_t total = static_cast<std::size_t>(options.lag_rate) * options.lag_seconds;
  // ~10.4 events per build on average: 9 per build leaves some to cut.
  generate(10000000, total / 9 + kInFlight, now_ms(), 1000, events);
  events.resize(std::min(events.size(), total));

  std::atomic<bool> sampling{true};
  std::vector<std::pair<Clock::time_point, std::uint64_t>> samples;
  std::thread sampler([&] {
    std::uint64_t seen = 0;
    while (sampling) {
      const std::uint64_t c = applier.checkpoint();
      if (c != seen) {
        samples.emplace_back(Clock::now(), c);
        seen = c;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  std::vector<std::pair<Clock::time_point, std::uint64_t>> published;
  published.reserve(events.size());
  const auto start = Clock::now();
  const auto interval = std::chrono::nanoseconds(1000000000LL / options.lag_rate);
  for (std::size_t i = 0; i < events.size(); ++i) {
    std::this_thread::sleep_until(start + interval * static_cast<long long>(i));
    auto encoded = events::encode(events[i]);
    const auto sent = Clock::now();
    auto ack = bus.publish(encoded.subject, encoded.data, events[i].event_id());
    if (!ack.ok()) die(ack.error().describe());
    published.emplace_back(sent, ack->sequence);
  }
  const double publish_seconds = seconds_since(start);
  const std::uint64_t target = published.back().second;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (applier.checkpoint() < target && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  sampling = false;
  sampler.join();

  std::vector<double> lags;
  std::size_t s = 0;
  for (const auto& [sent, seq] : published) {
    while (s < samples.size() && samples[s].second < seq) ++s;
    if (s == samples.size()) die("an event was never applied within 30 s");
    lags.push_back(
        std::max(0.0, std::chrono::duration<double, std::milli>(samples[s].first - sent).count()));
  }
  LagResult result;
  result.events = lags.size();
  result.p50_ms = percentile(lags, 0.50);
  result.p99_ms = percentile(lags, 0.99);
  result.max_ms = percentile(lags, 1.0);
  result.achieved_rate = static_cast<double>(lags.size()) / publish_seconds;
  return result;
}

void insert_builds(const std::string& url, std::size_t rows) {
  auto connection = store::connect(url);
  pqxx::work tx(*connection);
  // One build every 2 s, the newest now; 20 projects, 3 tenants, 4 triggers, statuses and
  // branches mixed as in build_history().
  tx.exec_params(
      "INSERT INTO builds (build_id, build_number, project, tenant, status, trigger, actor, ref,"
      " branch, repo_url, commit_sha, image_repository, requested_at, started_at, finished_at,"
      " progress, image_url, digest, created_seq, last_seq)"
      " SELECT 'row-' || lpad(g::text, 8, '0'), g / 20 + 1, 'proj-' || (g % 20),"
      " CASE WHEN g % 3 = 0 THEN 'globex' ELSE 'acme' END,"
      " (ARRAY['succeeded','succeeded','succeeded','succeeded','succeeded','succeeded','failed',"
      "        'cancelled','building','queued'])[(g / 3) % 10 + 1],"
      " (ARRAY['webhook','manual','schedule','retry'])[(g / 7) % 4 + 1], 'dev-' || (g % 13),"
      " CASE WHEN g % 4 = 0 THEN 'refs/heads/main' ELSE 'refs/heads/feature-' || (g % 5) END,"
      " CASE WHEN g % 4 = 0 THEN 'main' ELSE 'feature-' || (g % 5) END,"
      " 'https://git.example/acme/proj-' || (g % 20) || '.git', md5(g::text) || 'abcdefgh',"
      " 'acme/proj-' || (g % 20), now() - ($1 - g) * interval '2 seconds',"
      " now() - ($1 - g) * interval '2 seconds' + interval '3 seconds',"
      " now() - ($1 - g) * interval '2 seconds' + interval '40 seconds', 100,"
      " 'registry.local:5000/acme/proj-' || (g % 20) || ':latest', 'sha256:' || md5(g::text),"
      " g, g"
      " FROM generate_series(1, $1::bigint) AS g",
      static_cast<long long>(rows));
  tx.commit();
  pqxx::nontransaction analyze(*connection);
  analyze.exec("ANALYZE builds");
}

struct QueryResult {
  std::size_t queries = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  std::size_t rows_returned = 0;
};

QueryResult measure_queries(int port, int count) {
  // 40 chains of 5 pages: each chain one filter, following next_cursor.
  const std::string since = std::to_string(now_ms() - 3 * kDayMs);
  const std::string until = std::to_string(now_ms() - 2 * kDayMs);
  const std::vector<std::string> filters = {
      "limit=50",
      "project=proj-7&limit=50",
      "status=failed&limit=50",
      "trigger=webhook&branch=main&limit=50",
      "since=" + since + "&until=" + until + "&limit=50",
      "project=proj-3&status=succeeded&limit=20",
      "status=cancelled&trigger=manual&limit=50",
      "branch=feature-2&limit=100",
  };
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  session.setKeepAlive(true);
  QueryResult result;
  std::vector<double> latencies;
  for (int chain = 0; static_cast<int>(latencies.size()) < count; ++chain) {
    const std::string filter = filters[static_cast<std::size_t>(chain) % filters.size()];
    std::string cursor;
    for (int page = 0; page < 5 && static_cast<int>(latencies.size()) < count; ++page) {
      const std::string path = "/v1/builds?" + filter + (cursor.empty() ? "" : "&cursor=" + cursor);
      Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
      request.set("Authorization", "Bearer bench-secret");
      request.setKeepAlive(true);
      const auto start = Clock::now();
      session.sendRequest(request);
      Poco::Net::HTTPResponse response;
      std::istream& in = session.receiveResponse(response);
      std::string body;
      Poco::StreamCopier::copyToString(in, body);
      latencies.push_back(seconds_since(start) * 1000.0);
      if (response.getStatus() != 200) die("GET " + path + ": " + body);
      auto json = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
      result.rows_returned += json->getArray("builds")->size();
      if (json->isNull("next_cursor")) break;
      cursor = json->getValue<std::string>("next_cursor");
    }
  }
  result.queries = latencies.size();
  result.p50_ms = percentile(latencies, 0.50);
  result.p99_ms = percentile(latencies, 0.99);
  result.max_ms = percentile(latencies, 1.0);
  return result;
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const std::string& name) -> std::optional<long long> {
      if (arg.rfind(name + "=", 0) != 0) return std::nullopt;
      return std::atoll(arg.c_str() + name.size() + 1);
    };
    if (arg == "--full") {
      options.events = 1000000;
    } else if (auto v = value("--events")) {
      options.events = static_cast<std::size_t>(*v);
    } else if (auto v = value("--rows")) {
      options.rows = static_cast<std::size_t>(*v);
    } else if (auto v = value("--lag-seconds")) {
      options.lag_seconds = static_cast<int>(*v);
    } else {
      die("unknown argument " + arg +
          " (usage: analytics_bench [--events=N] [--full] [--rows=N] [--lag-seconds=N])");
    }
  }
  if (options.events < 1000 || options.rows < 1000 || options.lag_seconds < 1) {
    die("--events and --rows must be at least 1000, --lag-seconds at least 1");
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  log::init("analytics_bench", "error");
  const auto bench_start = Clock::now();
  testing::NatsServer nats;
  testing::PostgresServer pg;
  auto connected = bus::Bus::connect({.url = nats.url(), .name = "analytics-bench"});
  if (!connected.ok()) die(connected.error().describe());
  auto& bus = **connected;
  if (auto s = bus::provision(bus); !s.ok()) die(s.error().describe());

  // The stream: realistic histories over the last 30 days.
  std::vector<v1::Envelope> events;
  const std::size_t builds = options.events / 9 + kInFlight;
  generate(0, builds, now_ms() - 30 * kDayMs, 30 * kDayMs / static_cast<std::int64_t>(builds),
           events);
  if (events.size() < options.events) die("generated too few events");
  events.resize(options.events);
  auto start = Clock::now();
  publish_all(bus, events);
  const double publish_seconds = seconds_since(start);
  events.clear();
  events.shrink_to_fit();
  const std::uint64_t total = last_seq(bus);

  // (a) batched, the service's default batch size.
  const std::string batched_url = create_database(pg, "bench_batched");
  http::Metrics metrics;
  std::uint64_t batched_applied = 0;
  double batched_seconds = 0;
  const int default_batch = analytics::ApplierOptions{}.batch_size;
  {
    analytics::Applier applier(bus, applier_options(batched_url, "bench_batched", 0), metrics);
    batched_seconds = drive(applier, 0, total, 600, &batched_applied);
  }
  const double batched_rate = static_cast<double>(batched_applied) / batched_seconds;

  // (b) naive: one event per transaction, on a fresh database, for a fixed time.
  const std::string naive_url = create_database(pg, "bench_naive");
  std::uint64_t naive_applied = 0;
  double naive_seconds = 0;
  {
    analytics::Applier applier(bus, applier_options(naive_url, "bench_naive", 1), metrics);
    naive_seconds = drive(applier, 0, total, options.naive_seconds, &naive_applied);
  }
  const double naive_rate = static_cast<double>(naive_applied) / naive_seconds;

  // (c) rebuild from zero of the whole stream into the batched database.
  analytics::RebuildOptions rebuild_options;
  rebuild_options.database_url = batched_url;
  rebuild_options.migrations_dir = KILN_SOURCE_DIR "/migrations";
  const analytics::RebuildReport rebuilt = analytics::rebuild(bus, rebuild_options);

  // (d) lag at a steady rate, the applier on its own thread as in the service.
  LagResult lag;
  {
    analytics::Applier applier(bus, applier_options(batched_url, "bench_batched", 0), metrics);
    applier.start();
    lag = measure_lag(bus, applier, options);
    applier.stop();
  }

  // (e) GET /v1/builds with many builds in the table.
  const std::string query_url = create_database(pg, "bench_query");
  start = Clock::now();
  insert_builds(query_url, options.rows);
  const double insert_seconds = seconds_since(start);
  QueryResult queries;
  {
    auto auth = http::TokenAuth::parse("bench:bench-secret:acme:read");
    if (!auth.ok()) die(auth.error().describe());
    analytics::DbPool pool(query_url, 4);
    http::Server server("analytics-bench", http::ServerOptions{});
    analytics::QueryApi api(pool, bus, *auth, server.metrics());
    api.register_routes(server);
    server.start();
    measure_queries(server.port(), 20);  // warm the connection pool and PostgreSQL's cache
    queries = measure_queries(server.port(), options.queries);
    server.stop(1000);
  }

  std::printf(
      "analytics: real nats-server + PostgreSQL on loopback (fsync off), %zu events "
      "(~11 per build, 8 builds in flight)\n",
      static_cast<std::size_t>(total));
  std::printf("  publish (AsyncPublisher)          %9.0f ev/s\n",
              static_cast<double>(total) / publish_seconds);
  std::printf("  (a) applier, batch %-4d           %9.0f ev/s   (%llu events in %.1f s)\n",
              default_batch, batched_rate, static_cast<unsigned long long>(batched_applied),
              batched_seconds);
  std::printf("  (b) applier, 1 event/transaction  %9.0f ev/s   (%llu events in %.1f s)\n",
              naive_rate, static_cast<unsigned long long>(naive_applied), naive_seconds);
  std::printf("      ratio batched/naive           %9.1fx      (aim: >= 10000 ev/s and >= 5x)\n",
              batched_rate / naive_rate);
  std::printf("  (c) rebuild from zero             %9.1f s     (%llu events, %.0f ev/s)\n",
              rebuilt.seconds, static_cast<unsigned long long>(rebuilt.events),
              static_cast<double>(rebuilt.events) / rebuilt.seconds);
  std::printf("      extrapolated to 1,000,000     %9.1f s     (aim: < 120 s%s)\n",
              rebuilt.seconds * 1e6 / static_cast<double>(rebuilt.events),
              rebuilt.events >= 1000000 ? "; measured, not extrapolated" : "; --full measures it");
  std::printf("  (d) projection lag at %d ev/s for %d s (achieved %.0f ev/s, %zu events)\n",
              options.lag_rate, options.lag_seconds, lag.achieved_rate, lag.events);
  std::printf("      p50 %.1f ms   p99 %.1f ms   max %.1f ms   (aim: p99 < 1000 ms)\n", lag.p50_ms,
              lag.p99_ms, lag.max_ms);
  std::printf(
      "  (e) GET /v1/builds, %zu builds in the table (INSERT ... SELECT generate_series, "
      "%.1f s)\n",
      options.rows, insert_seconds);
  std::printf("      %zu queries (8 filter mixes x 5 cursor pages, %zu rows returned)\n",
              queries.queries, queries.rows_returned);
  std::printf("      p50 %.2f ms   p99 %.2f ms   max %.2f ms   (aim: p99 < 20 ms)\n",
              queries.p50_ms, queries.p99_ms, queries.max_ms);
  std::printf("  whole run %.0f s\n", seconds_since(bench_start));
  return 0;
}
