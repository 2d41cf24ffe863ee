// Pipeline events on a real bus (a NatsServer), for tests and benchmarks that drive one service
// the way the services before it do (requested, dispatched, built, cancel_requested) and read
// back what it published.
//
// The functions that check something report it with GoogleTest assertions, exactly as a test's
// own helper would (a failed ASSERT returns from the helper, not from the test); the event makers,
// connect_bus() and try_publish() assert nothing and suit benchmarks too.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "common/result.h"
#include "events/envelope.h"

namespace kiln::testing {

namespace v1 = ::kiln::events::v1;

// A connection named `name` to the nats-server at `url`, kiln's streams provisioned; throws
// std::runtime_error when either fails (for suite set-up and benchmarks).
std::unique_ptr<bus::Bus> connect_bus(const std::string& url, const std::string& name);

// ---- events, as the services before the one under test publish them ---------------------------

// `requested` of `project` with `spec` and no source.
v1::Envelope make_requested(const std::string& build_id, const v1::BuildSpec& spec = {},
                            const std::string& project = "demo",
                            const std::string& producer = "test");
// `requested` of a build from Git: `commit` empty means a scheduled build (the builder resolves
// `ref`).
v1::Envelope make_git_requested(const std::string& build_id, const std::string& repo_url,
                                const std::string& commit, const std::string& ref,
                                const v1::BuildSpec& spec = {}, const std::string& project = "demo",
                                const std::string& producer = "test");
// `requested` of a build without Git: the Dockerfile in the event and, when `upload_id` is not
// empty, a tar.gz context uploaded in chunks under that id (`sha256` hex, `size` bytes).
v1::Envelope make_upload_requested(const std::string& build_id, const std::string& project,
                                   const std::string& dockerfile, const std::string& upload_id = {},
                                   const std::string& sha256 = {}, std::int64_t size = 0);
// `dispatched` of `attempt`, as the scheduler publishes it.
v1::Envelope make_dispatched(const std::string& build_id, int attempt,
                             const std::string& producer = "test");
// `built` of attempt 1 with the image staged at `staged`, as the builder publishes it.
v1::Envelope make_built(const std::string& build_id, const v1::StagedImage& staged,
                        const std::string& manifest_digest);
// `cancel_requested` by "tester".
v1::Envelope make_cancel_requested(const std::string& build_id);

// ---- publishing -------------------------------------------------------------------------------

// Publishes `envelope` on its subject with its Nats-Msg-Id plus `msg_id_suffix` (a suffix makes a
// second message of the same event, as a redelivery or a producer's retry would be).
Result<bus::PublishAck> try_publish(bus::Bus& bus, v1::Envelope& envelope,
                                    const std::string& msg_id_suffix = {});
// The same, asserting (ASSERT_TRUE) that JetStream acked it.
void publish(bus::Bus& bus, v1::Envelope envelope, const std::string& msg_id_suffix = {});

// Log lines `first` .. `first + count - 1` of the build in one LogBatch, each "line <n>" on
// stdout at `at_ms` (Nats-Msg-Id log:<build>:<first>); asserts (ASSERT_TRUE) that it was acked.
void publish_log_lines(bus::Bus& bus, const std::string& build_id, std::int64_t first, int count,
                       std::int64_t at_ms);

// ---- reading back -----------------------------------------------------------------------------

// The terminal events of the builder and of the pusher.
inline const std::vector<std::string> kBuildOutcomes = {"built", "failed", "cancelled"};
inline const std::vector<std::string> kPushOutcomes = {"succeeded", "failed", "cancelled"};

// Every event stored in the events stream under `filter` (wildcards allowed), in order; expects
// (EXPECT_TRUE) the stream to be readable.
std::vector<v1::Envelope> read_events(bus::Bus& bus, const std::string& filter);

// The last stored event of the build among `types` (checked in that order), polled every `poll`;
// nullopt when there is none after `timeout`.
std::optional<v1::Envelope> wait_for_event(bus::Bus& bus, const std::string& build_id,
                                           const std::vector<std::string>& types,
                                           std::chrono::milliseconds timeout,
                                           std::chrono::milliseconds poll);

// The builder's outcome (built, failed or cancelled) within 120 s; otherwise a test failure and an
// empty envelope.
v1::Envelope wait_build_outcome(bus::Bus& bus, const std::string& build_id);

enum class LogCheck {
  kNone,
  kConsecutive,  // expects every batch to parse and to continue the previous one's numbering
};
// The build's log as text, a line per stored line; expects the stream to be readable.
std::string read_log_text(bus::Bus& bus, const std::string& build_id,
                          LogCheck check = LogCheck::kNone);

}  // namespace kiln::testing
