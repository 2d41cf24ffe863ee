// kiln-analytics under the load of a dashboard reading a 100,000-line build log, against a real
// nats-server and PostgreSQL: threads fetching random GET /v1/builds/{id}/logs pages, SSE and
// WebSocket clients resuming from random positions and dropping the connection mid-stream, some
// reading slowly, while the tail of the log and the end of the build are still being published.
// Every page must be exactly the lines asked for, every stream must continue exactly where it was
// resumed and end with every line, and the service must survive it (run it under ASan/UBSan).
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "analytics/applier.h"
#include "analytics/build_event_source.h"
#include "analytics/db_pool.h"
#include "analytics/live_stream.h"
#include "analytics/query_api.h"
#include "bus/bus.h"
#include "bus/consumer.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "events/envelope.h"
#include "events/subjects.h"
#include "http/auth.h"
#include "store/store.h"
#include "support/servers.h"
#include "support/stream_clients.h"

namespace kiln::analytics {
namespace {

namespace v1 = ::kiln::events::v1;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kLines = 100000;
constexpr std::int64_t kLinesBeforeClients = 70000;  // the rest arrives while clients read
constexpr int kPageThreads = 8;
constexpr int kSseThreads = 5;
constexpr int kWebSocketThreads = 3;
constexpr auto kHammerFor = std::chrono::seconds(20);
const std::string kBuild = "stress-1";

// Line n's text: its number plus a length that varies, so batches vary in bytes too.
std::string line_text(std::int64_t n) {
  return "line " + std::to_string(n) + " " + std::string(static_cast<std::size_t>(n % 97), 'x');
}
// Lines are 1 ms apart from t0 + 1000; build events fit around them.
std::int64_t line_at(std::int64_t t0, std::int64_t n) { return t0 + 1000 + n; }

Poco::JSON::Object::Ptr json(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

// Thread-safe record of what went wrong, reported by the test's own thread.
class Failures {
 public:
  void add(const std::string& what) {
    std::lock_guard lock(mutex_);
    if (list_.size() < 20) list_.push_back(what);
    ++count_;
  }
  int count() const {
    std::lock_guard lock(mutex_);
    return count_;
  }
  std::string describe() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& f : list_) out += f + "\n";
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> list_;
  int count_ = 0;
};

// Checks the frames of one stream resumed at `from`: log lines continue at from.log_line + 1
// without a gap, build events come after from.event_seq in order, and `done` only after the
// last line.
class StreamCheck {
 public:
  StreamCheck(std::string name, StreamPosition from)
      : name_(std::move(name)), next_line_(from.log_line + 1), last_seq_(from.event_seq) {}

  // False (with a failure recorded) when the frame is wrong.
  bool frame(const std::string& id, const std::string& event, const std::string& data,
             Failures& failures) {
    auto body = json(data);
    if (event == "log") {
      const std::int64_t n = body->getValue<std::int64_t>("n");
      if (n != next_line_ || body->getValue<std::string>("text") != line_text(n)) {
        failures.add(name_ + ": expected line " + std::to_string(next_line_) + ", got " +
                     std::to_string(n));
        return false;
      }
      ++next_line_;
    } else if (event == "status" || event == "step") {
      const auto seq = body->getValue<std::uint64_t>("seq");
      if (seq <= last_seq_) {
        failures.add(name_ + ": event seq " + std::to_string(seq) + " after " +
                     std::to_string(last_seq_));
        return false;
      }
      last_seq_ = seq;
    } else if (event == "done") {
      done_ = true;
      if (next_line_ != kLines + 1) {
        failures.add(name_ + ": done after line " + std::to_string(next_line_ - 1) + " of " +
                     std::to_string(kLines));
        return false;
      }
    }
    auto position = parse_position(id);
    if (!position || position->log_line != next_line_ - 1 || position->event_seq != last_seq_) {
      failures.add(name_ + ": frame id " + id + " does not match what was sent");
      return false;
    }
    return true;
  }
  bool done() const { return done_; }
  std::int64_t lines_seen(StreamPosition from) const { return next_line_ - 1 - from.log_line; }

 private:
  std::string name_;
  std::int64_t next_line_;
  std::uint64_t last_seq_;
  bool done_ = false;
};

class AnalyticsStressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto connected = bus::Bus::connect(bus::BusOptions{.url = nats_.url(), .name = "stress"});
    ASSERT_TRUE(connected.ok()) << connected.error().describe();
    bus_ = std::move(connected.value());
    ASSERT_TRUE(bus::provision(*bus_).ok());
    auto connection = store::connect(pg_.url());
    store::migrate(*connection,
                   store::load_migrations(std::string(KILN_SOURCE_DIR) + "/migrations").value());
    auto parsed = http::TokenAuth::parse("reader:reader-secret:acme:read");
    ASSERT_TRUE(parsed.ok());
    auth_ = std::make_unique<http::TokenAuth>(std::move(parsed.value()));
    pool_ = std::make_unique<DbPool>(pg_.url(), 4);
    http::ServerOptions server_options;
    server_options.threads = 48;
    server_ = std::make_unique<http::Server>("stress", server_options);
    api_ = std::make_unique<QueryApi>(*pool_, *bus_, *auth_, server_->metrics());
    live_ = std::make_unique<LiveStream>(*bus_, *api_, server_->metrics());
    api_->register_routes(*server_);
    live_->register_routes(*server_);
    server_->start();
    ApplierOptions options;
    options.database_url = pg_.url();
    applier_ = std::make_unique<Applier>(*bus_, options, metrics_);
    applier_->start();
  }
  void TearDown() override {
    if (live_) live_->stop();
    if (server_) server_->stop(2000);
    if (applier_) applier_->stop();
  }
  int port() const { return server_->port(); }

  v1::Envelope event(std::int64_t at_ms) {
    auto e = events::new_envelope(kBuild, "stress/1", 1);
    e.set_occurred_at_ms(at_ms);
    return e;
  }
  void publish(v1::Envelope e) {
    auto encoded = events::encode(e);
    auto ack = bus_->publish(encoded.subject, encoded.data, encoded.msg_id);
    ASSERT_TRUE(ack.ok()) << ack.error().describe();
    last_event_seq_ = ack->sequence;
  }
  // Lines first..last in one LogBatch, numbered and identified as the builder's LogStream does.
  void publish_lines(std::int64_t first, std::int64_t last) {
    v1::LogBatch batch;
    batch.set_build_id(kBuild);
    batch.set_first_line(first);
    for (std::int64_t n = first; n <= last; ++n) {
      auto* line = batch.add_lines();
      line->set_at_ms(line_at(t0_, n));
      line->set_stream(n % 5 == 0 ? "stderr" : "stdout");
      line->set_text(line_text(n));
    }
    auto ack = bus_->publish(events::log_subject(kBuild), batch.SerializeAsString(),
                             kBuild + ":log:" + std::to_string(first));
    ASSERT_TRUE(ack.ok()) << ack.error().describe();
    published_lines_ = last;
  }
  // Batches of 1..500 lines up to `last`, optionally paced so readers see the log grow.
  void publish_log_until(std::int64_t last, std::mt19937& rng, std::chrono::microseconds pause) {
    std::uniform_int_distribution<std::int64_t> size(1, 500);
    while (published_lines_ < last && !HasFatalFailure()) {
      const std::int64_t first = published_lines_ + 1;
      publish_lines(first, std::min(last, first + size(rng) - 1));
      if (pause.count() > 0) std::this_thread::sleep_for(pause);
    }
  }
  void wait_until_applied() {
    auto last = bus::last_stream_sequence(*bus_, bus::kEventsStream);
    ASSERT_TRUE(last.ok());
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (applier_->checkpoint() < *last) {
      ASSERT_LT(Clock::now(), deadline) << "applier did not catch up";
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // GET /logs?from=&limit= and checks the page: exactly lines from.. in order, as many as asked
  // unless the log (at least `known` lines long when asked) ends first.
  void check_page(std::int64_t from, std::int64_t limit, Failures& failures) {
    const std::int64_t known = published_lines_.load();
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port()));
    session.setTimeout(Poco::Timespan(30, 0));
    const std::string path = "/v1/builds/" + kBuild + "/logs?from=" + std::to_string(from) +
                             "&limit=" + std::to_string(limit);
    Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Authorization", "Bearer reader-secret");
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::string body;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
    if (response.getStatus() != 200) {
      failures.add(path + ": status " + std::to_string(response.getStatus()) + " " + body);
      return;
    }
    auto page = json(body);
    auto lines = page->getArray("lines");
    const auto count = static_cast<std::int64_t>(lines->size());
    for (std::int64_t i = 0; i < count; ++i) {
      auto line = lines->getObject(static_cast<unsigned>(i));
      const std::int64_t n = line->getValue<std::int64_t>("n");
      if (n != from + i || line->getValue<std::string>("text") != line_text(n)) {
        failures.add(path + ": line " + std::to_string(i) + " is " + std::to_string(n));
        return;
      }
    }
    const std::int64_t expected_at_least =
        std::max<std::int64_t>(0, std::min(limit, std::min(known, kLines) - from + 1));
    if (count > limit || count < expected_at_least) {
      failures.add(path + ": " + std::to_string(count) + " lines, expected at least " +
                   std::to_string(expected_at_least));
    }
    if (page->getValue<std::int64_t>("next") != from + count) {
      failures.add(path + ": next " + page->getValue<std::string>("next"));
    }
  }

  // One SSE client: resumes at `from`, reads `frames` frames (or to the end), then drops the
  // connection without a word, sometimes with a reset, sometimes after pausing (a slow reader).
  void sse_client(StreamPosition from, std::size_t frames, bool pause, bool reset,
                  Failures& failures, std::atomic<int>& completed) {
    const std::string name = "sse from " + format_position(from);
    testing::SseClient client(port(), "/v1/builds/" + kBuild + "/events", "reader-secret",
                              format_position(from), Poco::Timespan(30, 0));
    if (client.status() != 200) {
      failures.add(name + ": status " + std::to_string(client.status()));
      return;
    }
    StreamCheck check(name, from);
    std::size_t read = 0;
    while (read < frames) {
      const auto frame = client.next();
      if (!frame) break;
      if (!check.frame(frame->id, frame->event, frame->data, failures)) break;
      if (check.done()) {
        ++completed;
        break;
      }
      // A slow reader: the server's writes block and the readers behind it stall meanwhile.
      if (++read == frames / 2 && pause) std::this_thread::sleep_for(std::chrono::seconds(3));
    }
    if (reset) client.session().socket().setLinger(true, 0);
    client.session().abort();
  }

  // One WebSocket client, likewise.
  void websocket_client(StreamPosition from, std::size_t frames, bool reset, Failures& failures,
                        std::atomic<int>& completed) {
    const std::string name = "websocket from " + format_position(from);
    testing::WebSocketClient client(
        port(), "/v1/builds/" + kBuild + "/stream?from=" + format_position(from), "reader-secret",
        Poco::Timespan(30, 0));
    if (!client.upgraded()) {
      failures.add(name + ": no upgrade: " + client.error());
      return;
    }
    StreamCheck check(name, from);
    std::size_t read = 0;
    try {
      for (; read < frames; ++read) {
        const auto received = client.receive();
        if (received.kind == testing::WebSocketClient::Received::kClosed) {
          if (!check.done()) failures.add(name + ": closed before done");
          break;
        }
        if (received.kind != testing::WebSocketClient::Received::kText) continue;
        const auto& frame = received.frame;
        if (!check.frame(frame.id, frame.event, frame.data, failures)) break;
        if (check.done()) {
          ++completed;
          break;
        }
        if (read % 1000 == 999) {
          // The client talks too: a ping must get its pong without disturbing the stream.
          client.socket().sendFrame("hi", 2,
                                    static_cast<int>(Poco::Net::WebSocket::FRAME_FLAG_FIN) |
                                        Poco::Net::WebSocket::FRAME_OP_PING);
        }
      }
    } catch (const Poco::Exception& e) {
      failures.add(name + ": after " + std::to_string(read) + " frames (" +
                   std::to_string(check.lines_seen(from)) + " lines, done " +
                   std::to_string(check.done()) + "): " + e.displayText());
    }
    if (reset) client.socket().setLinger(true, 0);
    client.socket().close();  // no close frame: the browser tab went away
  }

  testing::NatsServer nats_;
  testing::PostgresServer pg_;
  std::unique_ptr<bus::Bus> bus_;
  http::Metrics metrics_;
  std::unique_ptr<http::TokenAuth> auth_;
  std::unique_ptr<DbPool> pool_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<QueryApi> api_;
  std::unique_ptr<LiveStream> live_;
  std::unique_ptr<Applier> applier_;
  std::int64_t t0_ = now_ms() - 3600 * 1000;
  std::atomic<std::int64_t> published_lines_{0};
  std::atomic<std::uint64_t> last_event_seq_{0};
};

TEST_F(AnalyticsStressTest, DashboardReadingAHugeLogGetsEveryLineAndTheServiceSurvives) {
  std::mt19937 rng(20261130);
  // requested .. step 1 started, then most of the log.
  {
    auto e = event(t0_);
    auto* r = e.mutable_requested();
    r->set_project("demo");
    r->set_tenant("acme");
    r->mutable_trigger()->set_kind(v1::Trigger::MANUAL);
    r->mutable_git()->set_ref("refs/heads/main");
    publish(e);
  }
  {
    auto e = event(t0_ + 10);
    e.mutable_queued()->set_position(1);
    publish(e);
  }
  {
    auto e = event(t0_ + 20);
    e.mutable_dispatched()->set_attempt(1);
    publish(e);
  }
  {
    auto e = event(t0_ + 30);
    e.mutable_started()->set_worker_id("worker-1");
    publish(e);
  }
  {
    auto e = event(t0_ + 40);
    auto* s = e.mutable_step_started();
    s->set_step(1);
    s->set_total(1);
    s->set_instruction("RUN ./make-a-lot-of-noise");
    publish(e);
  }
  publish_log_until(kLinesBeforeClients, rng, std::chrono::microseconds(0));
  wait_until_applied();
  ASSERT_FALSE(HasFatalFailure());
  const std::uint64_t events_before = last_event_seq_.load();

  Failures failures;
  std::atomic<bool> stop{false};
  std::atomic<int> pages{0}, streams{0}, completed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kPageThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 r(1000 + t);
      std::uniform_int_distribution<std::int64_t> from(1, kLines);
      std::uniform_int_distribution<int> kind(0, 3);
      while (!stop) {
        // Mostly the dashboard's 10,000-line pages, sometimes an odd size.
        const std::int64_t limit =
            kind(r) == 0 ? std::uniform_int_distribution<std::int64_t>(1, 10000)(r) : 10000;
        try {
          check_page(from(r), limit, failures);
        } catch (const std::exception& e) {
          failures.add(std::string("page: ") + e.what());
        }
        ++pages;
      }
    });
  }
  auto random_position = [&](std::mt19937& r) {
    std::uniform_int_distribution<std::uint64_t> seq(0, events_before);
    std::uniform_int_distribution<std::int64_t> line(0, kLines);
    return StreamPosition{seq(r), r() % 4 == 0 ? 0 : line(r)};
  };
  for (int t = 0; t < kSseThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 r(2000 + t);
      while (!stop) {
        const std::size_t frames = r() % 4 == 0 ? 1000000 : r() % 20000 + 1;
        try {
          sse_client(random_position(r), frames, r() % 8 == 0, r() % 2 == 0, failures, completed);
        } catch (const std::exception& e) {
          failures.add(std::string("sse: ") + e.what());
        }
        ++streams;
      }
    });
  }
  for (int t = 0; t < kWebSocketThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 r(3000 + t);
      while (!stop) {
        const std::size_t frames = r() % 4 == 0 ? 1000000 : r() % 20000 + 1;
        try {
          websocket_client(random_position(r), frames, r() % 2 == 0, failures, completed);
        } catch (const std::exception& e) {
          failures.add(std::string("websocket: ") + e.what());
        }
        ++streams;
      }
    });
  }

  // The rest of the log arrives while the clients read, then the build ends.
  const auto started = Clock::now();
  publish_log_until(kLines, rng, std::chrono::microseconds(20000));
  {
    auto e = event(line_at(t0_, kLines) + 10);
    auto* s = e.mutable_step_finished();
    s->set_step(1);
    s->set_total(1);
    s->set_instruction("RUN ./make-a-lot-of-noise");
    s->set_duration_ms(100000);
    publish(e);
  }
  {
    auto e = event(line_at(t0_, kLines) + 20);
    e.mutable_built()->set_manifest_digest("sha256:m");
    publish(e);
  }
  {
    auto e = event(line_at(t0_, kLines) + 30);
    e.mutable_pushed()->set_digest("sha256:m");
    publish(e);
  }
  {
    auto e = event(line_at(t0_, kLines) + 40);
    e.mutable_succeeded()->set_digest("sha256:m");
    publish(e);
  }
  while (Clock::now() < started + kHammerFor && failures.count() < 100) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop = true;
  for (auto& t : threads) t.join();

  EXPECT_EQ(failures.count(), 0) << failures.describe();
  EXPECT_GT(pages.load(), kPageThreads);
  EXPECT_GT(streams.load(), kSseThreads + kWebSocketThreads);
  EXPECT_GT(completed.load(), 0) << "no stream ever reached done";

  // After the storm: the service still answers, and one complete stream has every line.
  Failures after;
  std::atomic<int> done{0};
  sse_client(StreamPosition{}, 1000000, false, false, after, done);
  check_page(1, 10000, after);
  check_page(kLines - 10, 10000, after);
  EXPECT_EQ(after.count(), 0) << after.describe();
  EXPECT_EQ(done.load(), 1);
}

}  // namespace
}  // namespace kiln::analytics
