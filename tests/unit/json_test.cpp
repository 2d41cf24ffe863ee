// libs/json: the reader's errors (code, kind, field path, syntax position) and the writer's output.
#include <gtest/gtest.h>

#include "json/reader.h"
#include "json/writer.h"

namespace kiln::json {
namespace {

// The Error that reading `text` with `read` gives; fails the test when there is none.
template <typename Read>
Error error_of(std::string_view text, Read read) {
  auto result = read_object(text, [&read](const Reader& r) {
    read(r);
    return true;
  });
  EXPECT_FALSE(result.ok()) << text;
  return result.ok() ? Error{} : result.error();
}

Error parse_error(std::string_view text) {
  return error_of(text, [](const Reader&) {});
}

void expect_error(const Error& e, std::string_view kind, std::string_view message) {
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(e.peer_code, kind);
  EXPECT_EQ(e.message, message);
}

TEST(JsonReaderTest, SyntaxErrorsNameLineAndColumn) {
  expect_error(parse_error("{\n  \"a\": 1,\n  \"b\": x\n}"), "malformed_json",
               "malformed JSON: line 3, column 8: unexpected byte 'x' in value");
  expect_error(parse_error(R"({"name":)"), "malformed_json",
               "malformed JSON: line 1, column 9: unexpected end of text");
  expect_error(parse_error("[1,2"), "malformed_json",
               "malformed JSON: line 1, column 5: unexpected end of text");
  expect_error(parse_error(R"({"a":1}})"), "malformed_json",
               "malformed JSON: line 1, column 8: Excess characters found after JSON end.");
  // Columns count characters: the two bytes of "é" are one column.
  expect_error(parse_error("{\"\xC3\xA9\": x}"), "malformed_json",
               "malformed JSON: line 1, column 7: unexpected byte 'x' in value");
  expect_error(parse_error(""), "malformed_json",
               "malformed JSON: line 1, column 1: unexpected end of text");
}

TEST(JsonReaderTest, TheTopLevelMustBeAnObject) {
  for (const char* text : {"[1,2]", "null", "\"x\"", "3"}) {
    expect_error(parse_error(text), "malformed_json",
                 "malformed JSON: the top level is not an object");
  }
}

TEST(JsonReaderTest, DeepNestingIsAnErrorNotACrash) {
  const std::string deep(100000, '[');
  expect_error(parse_error(deep), "malformed_json",
               "malformed JSON: line 1, column 100001: unexpected end of text");
}

TEST(JsonReaderTest, WrongTypesNameTheFieldPath) {
  const char* text = R"({"schedules":[{"cron":"@daily"},{"cron":5}],"policy":{"sha":"yes"},
    "tags":["a",1],"args":{"A":"1","B":2},"n":"3","items":[{},7]})";
  expect_error(error_of(text,
                        [](const Reader& r) {
                          for (const auto& s : r.objects("schedules")) s.string("cron");
                        }),
               "invalid_field", "schedules[1].cron: must be a string");
  expect_error(error_of(text, [](const Reader& r) { r.object("policy").boolean("sha", true); }),
               "invalid_field", "policy.sha: must be true or false");
  expect_error(error_of(text, [](const Reader& r) { r.strings("tags"); }), "invalid_field",
               "tags[1]: must be a string");
  expect_error(error_of(text, [](const Reader& r) { r.string_map("args"); }), "invalid_field",
               "args.B: must be a string");
  expect_error(error_of(text, [](const Reader& r) { r.integer("n", 0); }), "invalid_field",
               "n: must be an integer");
  expect_error(error_of(text, [](const Reader& r) { r.objects("items"); }), "invalid_field",
               "items[1]: must be an object");
  expect_error(error_of(text, [](const Reader& r) { r.object("tags"); }), "invalid_field",
               "tags: must be an object");
  expect_error(error_of(text, [](const Reader& r) { r.objects("policy"); }), "invalid_field",
               "policy: must be an array");
  expect_error(error_of(text, [](const Reader& r) { r.strings("policy"); }), "invalid_field",
               "policy: must be an array of strings");
  expect_error(error_of(text, [](const Reader& r) { r.string_map("tags"); }), "invalid_field",
               "tags: must be an object of strings");
}

TEST(JsonReaderTest, IntegersAreCheckedAgainstTheirRange) {
  const char* text = R"({"low":-1,"big":18446744073709551615,"ok":7})";
  expect_error(error_of(text, [](const Reader& r) { r.integer("low", 0, 0, 1000); }),
               "invalid_field", "low: must be between 0 and 1000");
  expect_error(error_of(text, [](const Reader& r) { r.integer("big", 0); }), "invalid_field",
               "big: is out of range");
  auto ok = read_object(text, [](const Reader& r) { return r.integer("ok", 0, 0, 10); });
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_EQ(*ok, 7);
}

TEST(JsonReaderTest, RequiredFieldsAndNull) {
  const char* text = R"({"ref":null,"repository":{"name":"r"}})";
  expect_error(error_of(text, [](const Reader& r) { r.required_string("ref"); }), "missing_field",
               "ref: is required");
  expect_error(
      error_of(text,
               [](const Reader& r) { r.required_object("repository").required_object("owner"); }),
      "missing_field", "repository.owner: is required");
  expect_error(error_of(text, [](const Reader& r) { r.required_integer("n"); }), "missing_field",
               "n: is required");
  expect_error(error_of(text, [](const Reader& r) { r.required_boolean("b"); }), "missing_field",
               "b: is required");

  // Absent and null both give the fallback; an absent object reads as all fallbacks.
  auto read = read_object(text, [](const Reader& r) {
    const Reader missing = r.object("nope");
    EXPECT_FALSE(missing.present());
    EXPECT_FALSE(r.has("ref"));
    EXPECT_TRUE(r.has("repository"));
    return r.string("ref", "fallback") + "," + missing.object("x").string("y", "deep") + "," +
           r.required_object("repository").required_string("name");
  });
  ASSERT_TRUE(read.ok()) << read.error().describe();
  EXPECT_EQ(*read, "fallback,deep,r");
}

TEST(JsonReaderTest, UnknownFieldsAreNamed) {
  const char* text = R"({"name":"a","nmae":"b","policy":{"sha":true,"shaa":false}})";
  expect_error(error_of(text,
                        [](const Reader& r) {
                          r.reject_unknown({"name", "policy"});
                        }),
               "invalid_field", "nmae: unknown field");
  expect_error(error_of(text,
                        [](const Reader& r) {
                          const Reader policy = r.object("policy");
                          policy.boolean("sha", false);
                          policy.reject_unknown();
                        }),
               "invalid_field", "policy.shaa: unknown field");
  // has() only looks: it does not make a key known.
  expect_error(error_of(text,
                        [](const Reader& r) {
                          r.string("name");
                          r.object("policy");
                          r.has("nmae");
                          r.reject_unknown();
                        }),
               "invalid_field", "nmae: unknown field");
  auto ok = read_object(text, [](const Reader& r) {
    r.string("name");
    r.reject_unknown({"nmae", "policy"});
    return true;
  });
  EXPECT_TRUE(ok.ok()) << ok.error().describe();
}

TEST(JsonReaderTest, ReadsWhatItWasGiven) {
  auto read = read_object(
      R"({"s":"x\"y","b":true,"i":-5,"list":["a","b"],"map":{"K":"V"},"objs":[{"n":1},{"n":2}]})",
      [](const Reader& r) {
        long long sum = 0;
        for (const auto& o : r.objects("objs")) sum += o.required_integer("n");
        EXPECT_EQ(r.strings("list"), (std::vector<std::string>{"a", "b"}));
        EXPECT_EQ(r.strings("none", {"default"}), std::vector<std::string>{"default"});
        EXPECT_EQ(r.string_map("map"), (std::map<std::string, std::string>{{"K", "V"}}));
        EXPECT_TRUE(r.required_boolean("b"));
        EXPECT_EQ(r.integer("i", 0), -5);
        std::string s = r.required_string("s");
        r.reject_unknown();
        return s + std::to_string(sum);
      });
  ASSERT_TRUE(read.ok()) << read.error().describe();
  EXPECT_EQ(*read, "x\"y3");
}

TEST(JsonWriterTest, WritesCompactEscapedJson) {
  Array tags;
  EXPECT_EQ(tags.str(), "[]");
  tags.add("a").add(std::string("b"));
  const std::string text = Object()
                               .add("s", "quote\" back\\ nl\n tab\t ctl\x01 \xC3\xA9")
                               .add("t", true)
                               .add("f", false)
                               .add("n", nullptr)
                               .add("i", -42)
                               .add("u", std::uint64_t{18446744073709551615ULL})
                               .add("tags", tags)
                               .add("empty", Object())
                               .add("raw", Raw{R"({"x":[1]})"})
                               .add("key \"q\"", 1)
                               .str();
  EXPECT_EQ(text,
            "{\"s\":\"quote\\\" back\\\\ nl\\n tab\\t ctl\\u0001 \xC3\xA9\",\"t\":true,"
            "\"f\":false,\"n\":null,\"i\":-42,\"u\":18446744073709551615,\"tags\":[\"a\",\"b\"],"
            "\"empty\":{},\"raw\":{\"x\":[1]},\"key \\\"q\\\"\":1}");
}

TEST(JsonWriterTest, ReadsBackWhatItWrote) {
  const std::string nasty = "\"\\/\b\f\n\r\t\x1f end";
  const std::string text =
      Object().add("s", nasty).add("list", Array().add(nasty)).add("o", Object().add("k", 1)).str();
  auto read = read_object(text, [](const Reader& r) {
    EXPECT_EQ(r.object("o").required_integer("k"), 1);
    return r.required_string("s") + r.strings("list").at(0);
  });
  ASSERT_TRUE(read.ok()) << read.error().describe();
  EXPECT_EQ(*read, nasty + nasty);
}

}  // namespace
}  // namespace kiln::json
