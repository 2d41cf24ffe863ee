// Every event type survives serialisation, and its type token and subject follow from its payload.
#include <gtest/gtest.h>

#include <functional>

#include "events/envelope.h"
#include "events/subjects.h"

namespace kiln::events {
namespace {

struct Case {
  std::string type;
  std::function<void(v1::Envelope&)> fill;
  std::function<void(const v1::Envelope&)> check;
};

std::vector<Case> every_event_type() {
  return {
      {"requested",
       [](v1::Envelope& e) {
         auto* r = e.mutable_requested();
         r->set_project("demo");
         r->mutable_trigger()->set_kind(v1::Trigger::WEBHOOK);
         r->mutable_trigger()->set_delivery_id("d-1");
         r->mutable_git()->set_repo_url("file:///tmp/repo");
         r->mutable_git()->set_commit("abc");
         (*r->mutable_spec()->mutable_build_args())["GREETING"] = "hi";
         r->mutable_spec()->add_tags("latest");
       },
       [](const v1::Envelope& e) {
         EXPECT_EQ(e.requested().project(), "demo");
         EXPECT_EQ(e.requested().trigger().delivery_id(), "d-1");
         EXPECT_EQ(e.requested().git().commit(), "abc");
         EXPECT_EQ(e.requested().spec().build_args().at("GREETING"), "hi");
         EXPECT_EQ(e.requested().spec().tags(0), "latest");
       }},
      {"queued", [](v1::Envelope& e) { e.mutable_queued()->set_held_by("project"); },
       [](const v1::Envelope& e) { EXPECT_EQ(e.queued().held_by(), "project"); }},
      {"dispatched", [](v1::Envelope& e) { e.mutable_dispatched()->set_attempt(2); },
       [](const v1::Envelope& e) { EXPECT_EQ(e.dispatched().attempt(), 2); }},
      {"started", [](v1::Envelope& e) { e.mutable_started()->set_worker_id("w1"); },
       [](const v1::Envelope& e) { EXPECT_EQ(e.started().worker_id(), "w1"); }},
      {"step_started", [](v1::Envelope& e) { e.mutable_step_started()->set_step(3); },
       [](const v1::Envelope& e) { EXPECT_EQ(e.step_started().step(), 3); }},
      {"step_finished", [](v1::Envelope& e) { e.mutable_step_finished()->set_cached(true); },
       [](const v1::Envelope& e) { EXPECT_TRUE(e.step_finished().cached()); }},
      {"built",
       [](v1::Envelope& e) {
         auto* layer = e.mutable_built()->add_layers();
         layer->set_digest("sha256:aa");
         layer->set_size(42);
       },
       [](const v1::Envelope& e) { EXPECT_EQ(e.built().layers(0).size(), 42); }},
      {"pushed", [](v1::Envelope& e) { e.mutable_pushed()->set_bytes_skipped(7); },
       [](const v1::Envelope& e) { EXPECT_EQ(e.pushed().bytes_skipped(), 7); }},
      {"succeeded", [](v1::Envelope& e) { e.mutable_succeeded()->set_digest("sha256:bb"); },
       [](const v1::Envelope& e) { EXPECT_EQ(e.succeeded().digest(), "sha256:bb"); }},
      {"failed",
       [](v1::Envelope& e) {
         e.mutable_failed()->set_stage(v1::FETCH);
         e.mutable_failed()->set_reason("no such ref");
       },
       [](const v1::Envelope& e) {
         EXPECT_EQ(e.failed().stage(), v1::FETCH);
         EXPECT_EQ(e.failed().reason(), "no such ref");
       }},
      {"cancel_requested", [](v1::Envelope& e) { e.mutable_cancel_requested()->set_by("ann"); },
       [](const v1::Envelope& e) { EXPECT_EQ(e.cancel_requested().by(), "ann"); }},
      {"cancelled", [](v1::Envelope& e) { e.mutable_cancelled()->set_stage(v1::BUILD); },
       [](const v1::Envelope& e) { EXPECT_EQ(e.cancelled().stage(), v1::BUILD); }},
  };
}

TEST(EventsTest, EveryEventTypeRoundTrips) {
  const auto cases = every_event_type();
  EXPECT_EQ(cases.size(),
            static_cast<size_t>(v1::Envelope::kCancelled - v1::Envelope::kRequested + 1));
  for (const auto& c : cases) {
    SCOPED_TRACE(c.type);
    auto envelope = new_envelope("b-1", "test/1", 3);
    c.fill(envelope);
    auto encoded = encode(envelope);
    EXPECT_EQ(envelope.type(), c.type);
    EXPECT_EQ(encoded.subject, "kiln.build." + c.type + ".b-1");
    EXPECT_EQ(encoded.msg_id, "b-1:" + c.type + ":3");
    auto decoded = decode(encoded.data);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded->type(), c.type);
    EXPECT_EQ(decoded->build_id(), "b-1");
    EXPECT_EQ(decoded->attempt(), 3);
    EXPECT_EQ(decoded->producer(), "test/1");
    EXPECT_EQ(decoded->event_id(), envelope.event_id());
    EXPECT_EQ(type_name(decoded->payload_case()), c.type);
    c.check(*decoded);
  }
}

TEST(EventsTest, GarbageIsNotAnEnvelope) {
  auto decoded = decode("\xff\xff\xff not protobuf");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, ErrorCode::kDataLoss) << decoded.error().describe();
}

TEST(SubjectsTest, SubjectsAndIds) {
  EXPECT_EQ(build_subject("built", "x"), "kiln.build.built.x");
  EXPECT_EQ(build_subject_filter("built"), "kiln.build.built.*");
  EXPECT_EQ(build_events_filter("x"), "kiln.build.*.x");
  EXPECT_EQ(log_subject("x"), "kiln.log.x");
  EXPECT_EQ(upload_subject("u"), "kiln.upload.u");
  EXPECT_EQ(type_of_subject("kiln.build.step_finished.abc"), "step_finished");
  EXPECT_EQ(type_of_subject("kiln.log.abc"), "");
  EXPECT_EQ(webhook_msg_id("github", "d1"), "webhook:github:d1");
  EXPECT_EQ(schedule_msg_id("demo/nightly", 1000), "schedule:demo/nightly:1000");
  EXPECT_TRUE(valid_token("0b1c-de_f"));
  EXPECT_FALSE(valid_token("a.b"));
  EXPECT_FALSE(valid_token("a*"));
  EXPECT_FALSE(valid_token(""));
}

}  // namespace
}  // namespace kiln::events
