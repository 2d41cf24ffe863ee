#include "support/pipeline.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include "bus/consumer.h"
#include "bus/topology.h"
#include "events/subjects.h"

namespace kiln::testing {

using Clock = std::chrono::steady_clock;

std::unique_ptr<bus::Bus> connect_bus(const std::string& url, const std::string& name) {
  auto connected = bus::Bus::connect(bus::BusOptions{.url = url, .name = name});
  if (!connected.ok()) throw std::runtime_error(connected.error().describe());
  std::unique_ptr<bus::Bus> bus = std::move(connected.value());
  if (auto s = bus::provision(*bus); !s.ok()) throw std::runtime_error(s.error().describe());
  return bus;
}

v1::Envelope make_requested(const std::string& build_id, const v1::BuildSpec& spec,
                            const std::string& project, const std::string& producer) {
  auto envelope = events::new_envelope(build_id, producer);
  envelope.mutable_requested()->set_project(project);
  *envelope.mutable_requested()->mutable_spec() = spec;
  return envelope;
}

v1::Envelope make_git_requested(const std::string& build_id, const std::string& repo_url,
                                const std::string& commit, const std::string& ref,
                                const v1::BuildSpec& spec, const std::string& project,
                                const std::string& producer) {
  auto envelope = make_requested(build_id, spec, project, producer);
  auto* git = envelope.mutable_requested()->mutable_git();
  git->set_repo_url(repo_url);
  git->set_commit(commit);
  git->set_ref(ref);
  return envelope;
}

v1::Envelope make_upload_requested(const std::string& build_id, const std::string& project,
                                   const std::string& dockerfile, const std::string& upload_id,
                                   const std::string& sha256, std::int64_t size) {
  auto envelope = events::new_envelope(build_id, "test");
  auto* requested = envelope.mutable_requested();
  requested->set_project(project);
  auto* upload = requested->mutable_upload();
  upload->set_dockerfile(dockerfile);
  if (!upload_id.empty()) {
    upload->set_context_upload_id(upload_id);
    upload->set_context_sha256(sha256);
    upload->set_context_size(size);
    upload->set_context_format("tar.gz");
  }
  return envelope;
}

v1::Envelope make_dispatched(const std::string& build_id, int attempt,
                             const std::string& producer) {
  auto envelope = events::new_envelope(build_id, producer, attempt);
  envelope.mutable_dispatched()->set_attempt(attempt);
  return envelope;
}

v1::Envelope make_built(const std::string& build_id, const v1::StagedImage& staged,
                        const std::string& manifest_digest) {
  auto envelope = events::new_envelope(build_id, "builder/test", 1);
  auto* built = envelope.mutable_built();
  *built->mutable_staged() = staged;
  built->set_manifest_digest(manifest_digest);
  built->set_attempt(1);
  return envelope;
}

v1::Envelope make_cancel_requested(const std::string& build_id) {
  auto envelope = events::new_envelope(build_id, "test");
  envelope.mutable_cancel_requested()->set_by("tester");
  return envelope;
}

Result<bus::PublishAck> try_publish(bus::Bus& bus, v1::Envelope& envelope,
                                    const std::string& msg_id_suffix) {
  auto encoded = events::encode(envelope);
  return bus.publish(encoded.subject, encoded.data, encoded.msg_id + msg_id_suffix);
}

void publish(bus::Bus& bus, v1::Envelope envelope, const std::string& msg_id_suffix) {
  auto ack = try_publish(bus, envelope, msg_id_suffix);
  ASSERT_TRUE(ack.ok()) << ack.error().describe();
}

void publish_log_lines(bus::Bus& bus, const std::string& build_id, std::int64_t first, int count,
                       std::int64_t at_ms) {
  v1::LogBatch batch;
  batch.set_build_id(build_id);
  batch.set_first_line(first);
  for (int i = 0; i < count; ++i) {
    auto* line = batch.add_lines();
    line->set_at_ms(at_ms);
    line->set_stream("stdout");
    line->set_text("line " + std::to_string(first + i));
  }
  std::string data;
  batch.SerializeToString(&data);
  auto ack = bus.publish(events::log_subject(build_id), data,
                         "log:" + build_id + ":" + std::to_string(first));
  ASSERT_TRUE(ack.ok()) << ack.error().describe();
}

std::vector<v1::Envelope> read_events(bus::Bus& bus, const std::string& filter) {
  std::vector<v1::Envelope> out;
  auto reader =
      bus::SubjectReader::open(bus, bus::kEventsStream, filter, bus::SubjectReader::Start::kAll);
  EXPECT_TRUE(reader.ok());
  if (!reader.ok()) return out;
  while (true) {
    auto next = (*reader)->next(300);
    if (!next.ok() || !next->has_value()) break;
    auto decoded = events::decode((*next)->data());
    if (decoded.ok()) out.push_back(*decoded);
  }
  return out;
}

std::optional<v1::Envelope> wait_for_event(bus::Bus& bus, const std::string& build_id,
                                           const std::vector<std::string>& types,
                                           std::chrono::milliseconds timeout,
                                           std::chrono::milliseconds poll) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    for (const auto& type : types) {
      auto last = bus::last_message(bus, bus::kEventsStream, events::build_subject(type, build_id));
      if (last.ok() && last->has_value()) {
        auto decoded = events::decode((*last)->data());
        if (decoded.ok()) return *decoded;
      }
    }
    std::this_thread::sleep_for(poll);
  }
  return std::nullopt;
}

v1::Envelope wait_build_outcome(bus::Bus& bus, const std::string& build_id) {
  auto outcome = wait_for_event(bus, build_id, kBuildOutcomes, std::chrono::seconds(120),
                                std::chrono::milliseconds(100));
  if (!outcome) {
    ADD_FAILURE() << "no outcome for build " << build_id;
    return {};
  }
  return *outcome;
}

std::string read_log_text(bus::Bus& bus, const std::string& build_id, LogCheck check) {
  std::string text;
  auto reader = bus::SubjectReader::open(bus, bus::kLogsStream, events::log_subject(build_id),
                                         bus::SubjectReader::Start::kAll);
  EXPECT_TRUE(reader.ok());
  if (!reader.ok()) return text;
  std::int64_t expected_line = 1;
  while (true) {
    auto next = (*reader)->next(300);
    if (!next.ok() || !next->has_value()) break;
    v1::LogBatch batch;
    const bool parsed =
        batch.ParseFromArray((*next)->data().data(), static_cast<int>((*next)->data().size()));
    if (check == LogCheck::kConsecutive) {
      EXPECT_TRUE(parsed);
      EXPECT_EQ(batch.first_line(), expected_line) << "log lines must be consecutive";
      expected_line = batch.first_line() + batch.lines_size();
    }
    for (const auto& line : batch.lines()) text += line.text() + "\n";
  }
  return text;
}

}  // namespace kiln::testing
