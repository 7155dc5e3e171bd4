// JsonFields (base/internal/lull/base/json_fields.h): every typed field of
// the JSON lull reads is refused with the document's name, the field's and
// what was expected; an integer is never cut to fit.
#include "lull/base/json_fields.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "support/gtest_helpers.h"

namespace lull {
namespace {

using nlohmann::json;
using test::error_of;

TEST(JsonFields, IntegersAreRangeCheckedNeverCut) {
  const json object = json::parse(R"({"big": 4294967297, "huge": 18446744073709551615, "neg": -1,
                                       "half": 2.5, "four": 4.0, "text": "4", "ok": 7})");
  const JsonFields f(object, "request", ErrorCode::invalid_argument);
  EXPECT_EQ(f.integer<int>("ok", 1, 10), 7);
  EXPECT_EQ(error_of([&] { f.integer<int>("big", 1, 100); }),
            "request: field \"big\" must be an integer from 1 to 100 (got 4294967297)");
  EXPECT_EQ(error_of([&] { f.integer<int>("big"); }),
            "request: field \"big\" must be an integer from -2147483648 to 2147483647 (got 4294967297)");
  EXPECT_EQ(error_of([&] { f.integer<std::int64_t>("huge"); }),
            "request: field \"huge\" must be an integer from -9223372036854775808 to 9223372036854775807 "
            "(got 18446744073709551615)");
  EXPECT_EQ(f.integer<std::uint64_t>("huge"), 18446744073709551615ULL);
  EXPECT_NE(error_of([&] { f.integer<std::uint64_t>("neg"); }).find("(got -1)"), std::string::npos);
  EXPECT_NE(error_of([&] { f.integer<int>("half"); }).find("(got 2.5)"), std::string::npos);
  EXPECT_NE(error_of([&] { f.integer<int>("four"); }).find("(got 4.0)"), std::string::npos);
  EXPECT_EQ(error_of([&] { f.integer<int>("text", 0, 9); }), "request: field \"text\" must be an integer from 0 to 9");
  EXPECT_EQ(error_of([&] { f.integer<int>("absent", 0, 9); }),
            "request: field \"absent\" is missing: expected an integer from 0 to 9");
  EXPECT_EQ(f.integer_or<int>("absent", 3, 0, 9), 3);
}

TEST(JsonFields, ParseObjectSaysWhyTheTextIsNotOne) {
  EXPECT_EQ(JsonFields::parse_object(R"({"a": 1})", "doc", ErrorCode::corrupt), json({{"a", 1}}));
  EXPECT_EQ(error_of([] { JsonFields::parse_object("[1]", "doc", ErrorCode::corrupt); }), "doc: not a JSON object");
  const std::string truncated = error_of([] { JsonFields::parse_object("{\"a\": 1", "doc", ErrorCode::corrupt); });
  EXPECT_EQ(truncated.rfind("doc: malformed JSON (", 0), 0u) << truncated;
  // Beyond a double's range is the parser's out_of_range, not a foreign exception.
  const std::string huge = error_of([] { JsonFields::parse_object(R"({"a": 1e400})", "doc", ErrorCode::corrupt); });
  EXPECT_EQ(huge.rfind("doc: malformed JSON (", 0), 0u) << huge;
  try {
    JsonFields::parse_object("", "doc", ErrorCode::invalid_argument);
    ADD_FAILURE() << "an empty text parsed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
  }
  EXPECT_EQ(error_of([] { JsonFields(json::array(), "doc", ErrorCode::corrupt); }), "doc is not a JSON object");
}

TEST(JsonFields, TypedFieldsNameWhatWasExpected) {
  const json object = json::parse(R"({"name": "a", "names": ["a", "b"], "mixed": ["a", 1], "meta": {"k": "v"},
                                       "bad_meta": {"k": 1}, "flag": true, "list": [1, 2], "inner": {"x": 1},
                                       "number": 3, "nothing": null})");
  const JsonFields f(object, "doc", ErrorCode::corrupt);
  EXPECT_EQ(f.text("name"), "a");
  EXPECT_EQ(f.texts("names"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(f.text_map("meta"), (std::map<std::string, std::string>{{"k", "v"}}));
  EXPECT_TRUE(f.boolean_or("flag", false));
  EXPECT_EQ(f.array("list").size(), 2u);
  EXPECT_EQ(f.object("inner").at("x"), 1);
  EXPECT_EQ(error_of([&] { f.text("number"); }), "doc: field \"number\" must be a string (got 3)");
  EXPECT_EQ(error_of([&] { f.texts("mixed"); }), "doc: field \"mixed\" must be an array of strings");
  EXPECT_EQ(error_of([&] { f.text_map("bad_meta"); }), "doc: field \"bad_meta\" must be a JSON object of strings");
  EXPECT_EQ(error_of([&] { f.boolean_or("name", false); }), "doc: field \"name\" must be true or false");
  EXPECT_EQ(error_of([&] { f.array("inner"); }), "doc: field \"inner\" must be an array");
  EXPECT_EQ(error_of([&] { f.object("list"); }), "doc: field \"list\" must be a JSON object");
  EXPECT_EQ(error_of([&] { f.fail("a rule across fields"); }), "doc: a rule across fields");
  // A null field is an absent one: optional readers take their fallback, required ones say it is missing.
  EXPECT_FALSE(f.has("nothing"));
  EXPECT_FALSE(f.boolean_or("nothing", false));
  EXPECT_EQ(f.integer_or<int>("nothing", 5), 5);
  EXPECT_EQ(error_of([&] { f.text("nothing"); }), "doc: field \"nothing\" is missing: expected a string");
}

}  // namespace
}  // namespace lull
