// KeyExpression: what compiles and what is refused (with the reason and column), and the keys
// evaluation gives: strings as they are, numbers in one canonical form, and the non-key outcomes
// (absent, null, not a scalar, too long) the caller decides on.
#include <gtest/gtest.h>

#include <string>

#include "flow/key_expression.h"

namespace cairn::flow {
namespace {

KeyExpression compile_ok(std::string_view text, const KeyExpressionOptions& options = {}) {
  Result<KeyExpression> e = KeyExpression::compile(text, options);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status().to_string();
  if (!e.ok()) std::abort();
  return *e;
}

KeyValue eval(std::string_view expr, std::string_view data) {
  return compile_ok(expr).evaluate({.name = "order/created", .id = "evt-1", .data_json = data});
}

TEST(KeyExpression, CompilesDataPathsAndEventFields) {
  EXPECT_EQ(compile_ok("data.customer_id").path(), "data.customer_id");
  EXPECT_EQ(compile_ok("data.a.b").path(), "data.a.b");
  EXPECT_EQ(compile_ok("event.data.a-b.C_9").path(), "data.a-b.C_9");
  EXPECT_EQ(compile_ok("event.data.a").text(), "event.data.a");
  EXPECT_EQ(compile_ok("event.name").path(), "event.name");
  EXPECT_EQ(compile_ok("event.id").path(), "event.id");
}

TEST(KeyExpression, RefusesMalformedExpressionsSayingWhy) {
  struct Case {
    std::string text;
    const char* part;
  };
  const Case cases[] = {
      {"", "it is empty"},
      {"data", "it names the whole data object"},
      {"event.data", "it names the whole data object"},
      {"data.", "empty field name at column 6"},
      {".a", "empty field name at column 1"},
      {"data..x", "key expression \"data..x\": empty field name at column 6"},
      {"data.a b",
       "' ' at column 7 is not allowed (field names hold letters, digits, '_' and '-')"},
      {"data.a[0]", "'[' at column 7 is not allowed"},
      {"data.\xc3\xa9", "byte 0xc3 at column 6 is not allowed"},
      {"customer.id", "it must start with \"data.\" or \"event.\""},
      {"event", "after \"event.\" comes name, id or data (column 6)"},
      {"event.foo", "after \"event.\" comes name, id or data (column 7)"},
      {"event.name.x", "after \"event.\" comes name, id or data"},
      {"data.1.2.3.4.5.6.7.8.9", "9 fields below data is deeper than depth_max (8)"},
      {"data." + std::string(300, 'x'), "is longer than expression_bytes_max (256)"},
  };
  for (const Case& c : cases) {
    Result<KeyExpression> e = KeyExpression::compile(c.text);
    ASSERT_FALSE(e.ok()) << c.text;
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(e.status().message().find(c.part), std::string::npos)
        << c.text << " gave: " << e.status().message();
  }
  // The limits are the options'.
  EXPECT_TRUE(KeyExpression::compile("data.1.2.3.4.5.6.7.8").ok());
  EXPECT_FALSE(KeyExpression::compile("data.a.b", {.depth_max = 1}).ok());
  EXPECT_FALSE(KeyExpression::compile("data.abc", {.expression_bytes_max = 7}).ok());
  EXPECT_TRUE(KeyExpression::compile("data.abc", {.expression_bytes_max = 8}).ok());
}

TEST(KeyExpression, StringsAreKeysAsTheyAre) {
  KeyValue v = eval("data.customer_id", R"({"customer_id": "C-17"})");
  EXPECT_EQ(v.outcome, KeyValue::Outcome::kKey);
  EXPECT_EQ(v.key, "C-17");
  EXPECT_EQ(eval("data.s", R"({"s": "a\"b\\c\u00e9"})").key, "a\"b\\c\xc3\xa9");
  EXPECT_EQ(eval("data.s", R"({"s": ""})").key, "");
  EXPECT_EQ(eval("data.a.b", R"({"a": {"b": "deep"}})").key, "deep");
  EXPECT_EQ(eval("event.data.a.b", R"({"a": {"b": "deep"}})").key, "deep");
}

TEST(KeyExpression, NumbersHaveOneCanonicalForm) {
  const struct {
    const char* json;
    const char* key;
  } cases[] = {
      {"42", "42"},
      {"-7", "-7"},
      {"0", "0"},
      {"-0", "0"},
      {"-0.0", "0"},
      {"1.0", "1"},
      {"1e0", "1"},
      {"10e-1", "1"},
      {"1e3", "1000"},
      {"1.5", "1.5"},
      {"-2.25", "-2.25"},
      {"9007199254740991", "9007199254740991"},
      {"18446744073709551615", "18446744073709551615"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"1e300", "1e+300"},
      {"0.1", "0.1"},
  };
  for (const auto& c : cases) {
    const KeyValue v = eval("data.n", std::string(R"({"n": )") + c.json + "}");
    EXPECT_EQ(v.outcome, KeyValue::Outcome::kKey) << c.json;
    EXPECT_EQ(v.key, c.key) << c.json;
  }
  // So equal values give equal keys.
  EXPECT_EQ(eval("data.n", R"({"n": 3})").key, eval("data.n", R"({"n": 3.0})").key);
}

TEST(KeyExpression, BooleansAreKeys) {
  EXPECT_EQ(eval("data.b", R"({"b": true})").key, "true");
  EXPECT_EQ(eval("data.b", R"({"b": false})").key, "false");
}

TEST(KeyExpression, NonKeysSayWhatTheyAre) {
  EXPECT_EQ(eval("data.x", R"({"y": 1})").outcome, KeyValue::Outcome::kAbsent);
  EXPECT_EQ(eval("data.x.y", R"({"x": 5})").outcome, KeyValue::Outcome::kAbsent);
  EXPECT_EQ(eval("data.x", R"({"x": null})").outcome, KeyValue::Outcome::kNull);
  EXPECT_EQ(eval("data.x", R"({"x": {"a": 1}})").outcome, KeyValue::Outcome::kNotScalar);
  EXPECT_EQ(eval("data.x", R"({"x": [1, 2]})").outcome, KeyValue::Outcome::kNotScalar);
  EXPECT_EQ(eval("data.x", "not json").outcome, KeyValue::Outcome::kAbsent);
  EXPECT_EQ(eval("data.x", "[1]").outcome, KeyValue::Outcome::kAbsent);
  EXPECT_EQ(eval("data.x", "").outcome, KeyValue::Outcome::kAbsent);
  for (const KeyValue& v : {eval("data.x", "{}"), eval("data.x", R"({"x": null})")}) {
    EXPECT_TRUE(v.key.empty());
  }
  EXPECT_EQ(key_outcome_name(KeyValue::Outcome::kAbsent), "absent");
  EXPECT_EQ(key_outcome_name(KeyValue::Outcome::kTooLong), "too long");
}

TEST(KeyExpression, KeysLongerThanTheLimitAreTooLong) {
  const KeyExpression e = compile_ok("data.s", {.key_bytes_max = 4});
  EXPECT_EQ(e.evaluate({.data_json = R"({"s": "abcd"})"}).key, "abcd");
  const KeyValue v = e.evaluate({.data_json = R"({"s": "abcde"})"});
  EXPECT_EQ(v.outcome, KeyValue::Outcome::kTooLong);
  EXPECT_TRUE(v.key.empty());
  EXPECT_EQ(e.evaluate({.data_json = R"({"s": 12345})"}).outcome, KeyValue::Outcome::kTooLong);
  const KeyExpression name = compile_ok("event.name", {.key_bytes_max = 4});
  EXPECT_EQ(name.evaluate({.name = "order/created"}).outcome, KeyValue::Outcome::kTooLong);
}

TEST(KeyExpression, EventNameAndIdAreKeys) {
  KeyValue name = eval("event.name", "{}");
  EXPECT_EQ(name.outcome, KeyValue::Outcome::kKey);
  EXPECT_EQ(name.key, "order/created");
  EXPECT_EQ(eval("event.id", "not even json").key, "evt-1");
}

}  // namespace
}  // namespace cairn::flow
