// The WebSocket live stream GET /v1/builds/{id}/stream against a real nats-server and PostgreSQL,
// with Poco's WebSocket client: history then live frames in order, the close after `done`,
// resuming with ?from=, the same frames as the SSE stream, and the HTTP errors before the upgrade.
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/WebSocket.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "analytics/analytics.h"
#include "bus/bus.h"
#include "bus/consumer.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "events/envelope.h"
#include "events/subjects.h"
#include "support/pipeline.h"
#include "support/servers.h"
#include "support/stream_clients.h"

namespace kiln::analytics {
namespace {

namespace v1 = ::kiln::events::v1;

// requested … succeeded of one build, 2 steps, starting at `t0`, 10 ms apart.
std::vector<v1::Envelope> build_events(const std::string& id, const std::string& tenant,
                                       std::int64_t t0) {
  std::vector<v1::Envelope> out;
  std::int64_t t = t0;
  auto next = [&]() -> v1::Envelope& {
    out.push_back(events::new_envelope(id, "test/1", 1));
    out.back().set_occurred_at_ms(t);
    t += 10;
    return out.back();
  };
  auto* r = next().mutable_requested();
  r->set_project("demo");
  r->set_tenant(tenant);
  r->mutable_trigger()->set_kind(v1::Trigger::MANUAL);
  r->mutable_git()->set_ref("refs/heads/main");
  next().mutable_queued()->set_position(1);
  next().mutable_dispatched()->set_attempt(1);
  next().mutable_started()->set_worker_id("worker-1");
  for (int s = 1; s <= 2; ++s) {
    auto* started = next().mutable_step_started();
    started->set_step(s);
    started->set_total(2);
    started->set_instruction("RUN step " + std::to_string(s));
    auto* finished = next().mutable_step_finished();
    finished->set_step(s);
    finished->set_total(2);
    finished->set_instruction("RUN step " + std::to_string(s));
    finished->set_duration_ms(9);
  }
  next().mutable_built()->set_manifest_digest("sha256:m");
  next().mutable_pushed()->set_digest("sha256:m");
  next().mutable_succeeded()->set_digest("sha256:m");
  return out;
}

Poco::JSON::Object::Ptr json(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

std::string to_text(const Poco::Dynamic::Var& value) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(value, out);
  return out.str();
}

using Frame = testing::StreamFrame;

constexpr char kReaderToken[] = "reader-secret";

// Reads the whole SSE stream of a build that has finished, to compare with the socket (data as
// compact JSON text, as the socket sends it).
std::vector<Frame> read_sse(int port, const std::string& path) {
  testing::SseClient client(port, path, kReaderToken);
  std::vector<Frame> frames;
  while (auto f = client.next()) frames.push_back({f->id, f->event, to_text(json(f->data))});
  return frames;
}

// "event data" of the log frames (logs true) or of every other frame, in order.
std::vector<std::string> only(const std::vector<Frame>& frames, bool logs) {
  std::vector<std::string> out;
  for (const auto& f : frames) {
    if ((f.event == "log") == logs) out.push_back(f.event + " " + f.data);
  }
  return out;
}

// kiln-analytics as main() builds it (migrations, applier, query API, live streams, one server).
class AnalyticsWsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto connected = bus::Bus::connect(bus::BusOptions{.url = nats_.url(), .name = "ws-test"});
    ASSERT_TRUE(connected.ok()) << connected.error().describe();
    bus_ = std::move(connected.value());
    ASSERT_TRUE(bus::provision(*bus_).ok());
    AnalyticsOptions options;
    options.common.http.port = 0;
    options.applier.database_url = pg_.url();
    options.pool_size = 4;
    options.migrations_dir = std::string(KILN_SOURCE_DIR) + "/migrations";
    options.api_tokens = "reader:reader-secret:acme:read,stranger:stranger-secret:other:read";
    options.web_root = "";  // no dashboard files
    analytics_ = std::make_unique<Analytics>(options, *bus_);
    ASSERT_NO_THROW(analytics_->start());
  }
  void TearDown() override { analytics_.reset(); }
  int port() const { return analytics_->port(); }

  void publish(v1::Envelope e) {
    auto encoded = events::encode(e);
    auto ack = bus_->publish(encoded.subject, encoded.data, e.event_id());
    ASSERT_TRUE(ack.ok()) << ack.error().describe();
  }
  // Waits until the running applier has applied everything published so far, so the build is
  // visible to the API.
  void apply_all() {
    auto last = bus::last_stream_sequence(*bus_, bus::kEventsStream);
    ASSERT_TRUE(last.ok());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (analytics_->applier().checkpoint() < *last) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "applier did not catch up";
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  testing::NatsServer nats_;
  testing::PostgresServer pg_;
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<Analytics> analytics_;
};

TEST_F(AnalyticsWsTest, SendsHistoryThenLiveFramesAndClosesAfterDone) {
  const std::int64_t t0 = now_ms();
  auto all = build_events("ws-1", "acme", t0);
  // requested, queued, dispatched, started now; the rest once the client is connected.
  for (std::size_t i = 0; i < 4; ++i) publish(all[i]);
  testing::publish_log_lines(*bus_, "ws-1", 1, 3, t0 + 35);
  apply_all();

  testing::WebSocketClient client(port(), "/v1/builds/ws-1/stream", kReaderToken);
  ASSERT_TRUE(client.upgraded()) << client.status();
  std::vector<Frame> frames;
  while (frames.size() < 4 + 3) {
    auto f = client.next();
    ASSERT_TRUE(f.has_value()) << "closed after " << frames.size() << " frames";
    frames.push_back(*f);
  }
  testing::publish_log_lines(*bus_, "ws-1", 4, 2, t0 + 1000);
  for (std::size_t i = 4; i < all.size(); ++i) publish(all[i]);
  while (auto f = client.next()) frames.push_back(*f);
  EXPECT_EQ(client.close_code(), Poco::Net::WebSocket::WS_NORMAL_CLOSE);

  std::vector<std::string> logs, kinds;
  for (const auto& f : frames) {
    kinds.push_back(f.event);
    if (f.event == "log") logs.push_back(json(f.data)->getValue<std::string>("text"));
  }
  EXPECT_EQ(logs, (std::vector<std::string>{"line 1", "line 2", "line 3", "line 4", "line 5"}));
  EXPECT_EQ(kinds.front(), "status");
  EXPECT_EQ(json(frames.front().data)->getValue<std::string>("type"), "requested");
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "step"), 4);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "status"), 7);
  ASSERT_EQ(kinds.back(), "done");
  EXPECT_EQ(json(frames.back().data)->getValue<std::string>("status"), "succeeded");
  // The history frames come in stream order; ids never go backwards.
  EXPECT_EQ(json(frames[3].data)->getValue<std::string>("type"), "started");
  for (std::size_t i = 1; i < frames.size(); ++i) {
    auto a = parse_position(frames[i - 1].id);
    auto b = parse_position(frames[i].id);
    ASSERT_TRUE(a && b) << frames[i].id;
    EXPECT_TRUE(b->event_seq >= a->event_seq && b->log_line >= a->log_line);
  }
}

TEST_F(AnalyticsWsTest, ResumesFromAPositionAndMatchesTheSseStream) {
  const std::int64_t t0 = now_ms();
  for (auto& e : build_events("ws-2", "acme", t0)) publish(e);
  testing::publish_log_lines(*bus_, "ws-2", 1, 4, t0 + 45);
  apply_all();

  testing::WebSocketClient whole(port(), "/v1/builds/ws-2/stream", kReaderToken);
  ASSERT_TRUE(whole.upgraded());
  std::vector<Frame> frames;
  while (auto f = whole.next()) frames.push_back(*f);
  ASSERT_GE(frames.size(), 16u);  // 13 events, 4 lines, done

  // One producer behind both transports: the same frames with the same data. How the two
  // sources interleave follows arrival, so each source's frames are compared in order.
  const auto sse = read_sse(port(), "/v1/builds/ws-2/events");
  EXPECT_EQ(sse.size(), frames.size());
  EXPECT_EQ(only(sse, true), only(frames, true));
  EXPECT_EQ(only(sse, false), only(frames, false));
  ASSERT_FALSE(sse.empty());
  EXPECT_EQ(sse.back().id, frames.back().id);

  // From the 6th frame's position: exactly the rest, nothing before it.
  testing::WebSocketClient resumed(port(), "/v1/builds/ws-2/stream?from=" + frames[5].id,
                                   kReaderToken);
  ASSERT_TRUE(resumed.upgraded());
  std::vector<Frame> rest;
  while (auto f = resumed.next()) rest.push_back(*f);
  const std::vector<Frame> expected(frames.begin() + 6, frames.end());
  EXPECT_EQ(rest.size(), expected.size());
  EXPECT_EQ(only(rest, true), only(expected, true));
  EXPECT_EQ(only(rest, false), only(expected, false));
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back().event, "done");
  EXPECT_EQ(resumed.close_code(), Poco::Net::WebSocket::WS_NORMAL_CLOSE);
}

TEST_F(AnalyticsWsTest, RefusesBeforeTheUpgrade) {
  for (auto& e : build_events("ws-3", "acme", now_ms())) publish(e);
  apply_all();
  testing::WebSocketClient anonymous(port(), "/v1/builds/ws-3/stream", "");
  EXPECT_FALSE(anonymous.upgraded());
  EXPECT_EQ(anonymous.status(), 401);
  testing::WebSocketClient stranger(port(), "/v1/builds/ws-3/stream", "stranger-secret");
  EXPECT_FALSE(stranger.upgraded());
  EXPECT_EQ(stranger.status(), 404);
  testing::WebSocketClient bad_from(port(), "/v1/builds/ws-3/stream?from=yesterday", kReaderToken);
  EXPECT_FALSE(bad_from.upgraded());
  EXPECT_EQ(bad_from.status(), 422);

  // A plain GET (no Upgrade header) is told to use a WebSocket.
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port()));
  Poco::Net::HTTPRequest request("GET", "/v1/builds/ws-3/stream", Poco::Net::HTTPMessage::HTTP_1_1);
  request.set("Authorization", "Bearer reader-secret");
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(response.getStatus(), 400);
  EXPECT_NE(body.find("websocket_required"), std::string::npos) << body;
}

}  // namespace
}  // namespace kiln::analytics
