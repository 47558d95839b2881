// The input of an on_failure run (engine/src/failure_input.h): its shape, and its bound when JSON
// escaping would grow the failed run's texts.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "failure_input.h"

namespace cairn::detail {
namespace {

size_t bound_of(std::string_view function_id, const Event& ev, std::string_view error) {
  return function_id.size() + ev.name.size() + ev.data.size() + ev.id.size() + error.size() +
         kFailureInputOverheadBytes;
}

TEST(FailureInput, CarriesTheRunItsErrorAndItsEventWithJsonDataAsJson) {
  const Event ev{"order/created", R"({"amount":5,"items":["a","b"]})", "order-7", 0};
  const std::string input = failure_event_data("charge", 42, ev, "card declined");
  const auto j = nlohmann::json::parse(input);
  EXPECT_EQ(j["function_id"], "charge");
  EXPECT_EQ(j["run_id"], 42);
  EXPECT_EQ(j["error"], "card declined");
  EXPECT_EQ(j["event"]["name"], "order/created");
  EXPECT_EQ(j["event"]["id"], "order-7");
  EXPECT_EQ(j["event"]["data"]["amount"], 5);
  EXPECT_FALSE(j.contains("cut"));
  EXPECT_LE(input.size(), bound_of("charge", ev, "card declined"));
}

TEST(FailureInput, DataThatIsNotJsonIsText) {
  const Event ev{"go", "plain text, not JSON", "", 0};
  const auto j = nlohmann::json::parse(failure_event_data("f", 1, ev, "e"));
  EXPECT_EQ(j["event"]["data"], "plain text, not JSON");
  EXPECT_FALSE(j.contains("cut"));
}

// Control bytes escape to six bytes each: a 16 KiB error of them became about 96 KiB of input,
// larger than any event the engine takes, in the handler's run and in every snapshot holding it.
TEST(FailureInput, ControlBytesThatWouldGrowItSixfoldAreCutToTheTextsOwnSizes) {
  const std::string error = "declined: " + std::string(16 << 10, '\x01');
  const Event ev{"go", std::string(8 << 10, '\x02'), "id-\x03\x03", 0};
  const std::string input = failure_event_data("charge", 42, ev, error);
  EXPECT_LE(input.size(), bound_of("charge", ev, error));
  const auto j = nlohmann::json::parse(input);
  EXPECT_EQ(j["cut"], true);
  EXPECT_EQ(j["run_id"], 42);
  EXPECT_EQ(j["function_id"], "charge");
  EXPECT_EQ(j["error_bytes"], error.size());
  EXPECT_EQ(j["event"]["data_bytes"], ev.data.size());
  EXPECT_EQ(j["event"]["name"], "go");
  // Each text keeps its beginning: the error's words, then as many of its control bytes as fit.
  const std::string kept_error = j["error"];
  EXPECT_EQ(kept_error.rfind("declined: \x01", 0), 0u);
  EXPECT_EQ(error.rfind(kept_error, 0), 0u);
  EXPECT_GT(kept_error.size(), error.size() / 7);
  const std::string kept_data = j["event"]["data"];
  EXPECT_EQ(ev.data.rfind(kept_data, 0), 0u);
  EXPECT_FALSE(kept_data.empty());
  // The same inputs give the same bytes: replay rebuilds what ran live.
  EXPECT_EQ(input, failure_event_data("charge", 42, ev, error));
}

// Data nested deeper than the engine accepts at send() (a log written before that check may hold
// such an event) is text: dumping it as JSON would recurse once per level, at every replay.
TEST(FailureInput, DataNestedDeeperThanTheLimitIsText) {
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  const Event ev{"go", deep, "", 0};
  const auto j = nlohmann::json::parse(failure_event_data("f", 1, ev, "e"));
  EXPECT_EQ(j["event"]["data"], deep);
  EXPECT_FALSE(j.contains("cut"));
}

// JSON data is parsed and dumped again, and a number can come back longer (1E15 is dumped as
// 1000000000000000.0): such data is kept as its own text instead.
TEST(FailureInput, JsonWhoseNumbersComeBackLongerIsKeptAsText) {
  std::string data = "[";
  for (int i = 0; i < 1000; ++i) data += i == 0 ? "1E15" : ",1E15";
  data += "]";
  const Event ev{"go", data, "", 0};
  const std::string input = failure_event_data("f", 1, ev, "e");
  EXPECT_LE(input.size(), bound_of("f", ev, "e"));
  const auto j = nlohmann::json::parse(input);
  EXPECT_EQ(j["cut"], true);
  EXPECT_EQ(j["event"]["data"], data);  // plain text fits its own size whole
}

// Bytes that are not UTF-8 become U+FFFD (three bytes each), which the bound's slack absorbs for
// a few; the input is still whole.
TEST(FailureInput, AFewBytesThatAreNotUtf8AreReplacedAndNothingIsCut) {
  const std::string error = "declined \xff\xfe\xc3 by the bank";
  const auto j = nlohmann::json::parse(failure_event_data("f", 1, Event{"go", "{}", "", 0}, error));
  EXPECT_FALSE(j.contains("cut"));
  EXPECT_EQ(j["error"], "declined \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD by the bank");
}

// A cut never ends inside a multi-byte character: the kept text stays valid UTF-8 (no U+FFFD of
// its own making at the end). 200 control bytes take 1,200 of the error's 2,200 bytes once
// escaped, and each byte of an "é" is counted at 3, so 333 more would fit: 166 characters and
// half of one, which is left out.
TEST(FailureInput, ACutKeepsWholeCharacters) {
  std::string error(200, '\x01');
  for (int i = 0; i < 1000; ++i) error += "\xC3\xA9";
  const auto j = nlohmann::json::parse(failure_event_data("f", 1, Event{"go", "{}", "", 0}, error));
  ASSERT_EQ(j["cut"], true);
  const std::string kept = j["error"];
  EXPECT_EQ(kept.size(), 200u + 2 * 166);
  EXPECT_EQ(error.rfind(kept, 0), 0u);
}

}  // namespace
}  // namespace cairn::detail
