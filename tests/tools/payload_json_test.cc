// cairn::schema::payload_to_json, which `cairn log dump` embeds in its output, renders every
// record type in schema/records.fbs as valid JSON: nested tables, [ubyte] and [string] vectors,
// enums, and strings that need escaping.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "cairn/schema/record_schema.h"
#include "sample_records.h"

namespace cairn::testing {
namespace {

using nlohmann::json;

json render(const SampleRecord& r) {
  EXPECT_TRUE(schema::verify_payload(r.type, r.payload)) << r.type_name;
  const std::string text = schema::payload_to_json(r.type, r.payload);
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << r.type_name << " rendered invalid JSON: " << text;
  return j;
}

TEST(PayloadJson, SamplesCoverEveryKnownRecordType) {
  std::set<log::RecordType> sampled;
  for (const SampleRecord& r : sample_record_of_each_type("x", false)) sampled.insert(r.type);
  for (uint32_t t = 0; t <= 0xffff; ++t) {
    const auto type = static_cast<log::RecordType>(t);
    EXPECT_EQ(schema::is_known_record_type(type), sampled.count(type) == 1) << "type " << t;
  }
}

TEST(PayloadJson, EveryRecordTypeRendersAsValidJsonWithItsFields) {
  const std::string text = tricky_text();
  const json bytes = json::array({0, 1, 127, 128, 255});
  for (const SampleRecord& r : sample_record_of_each_type(text, false)) {
    SCOPED_TRACE(r.type_name);
    const json j = render(r);
    ASSERT_TRUE(j.is_object());
    if (j.contains("step")) {
      EXPECT_EQ(j["step"]["run_id"], 42);
      EXPECT_EQ(j["step"]["position"], 3);
      EXPECT_EQ(j["step"]["step_id"], text);
    }
    const std::string& n = r.type_name;
    if (n == "EventAccepted") {
      EXPECT_EQ(j["event_id"], text);
      EXPECT_EQ(j["data"], text);
      EXPECT_EQ(j["ts_ms"], -5);
      EXPECT_EQ(j["functions"], json::array({text, "fn-2"}));
      EXPECT_EQ(j["origin"]["step_id"], text);
      EXPECT_EQ(j["duplicate"], true);
    } else if (n == "RunCreated") {
      EXPECT_EQ(j["event_data"], text);
      EXPECT_EQ(j["parent"]["run_id"], 42);
    } else if (n == "StepCompleted") {
      EXPECT_EQ(j["attempt"], 1);
      EXPECT_EQ(j["output"], bytes);
    } else if (n == "StepFailed") {
      EXPECT_EQ(j["kind"], "NonRetriable");
      EXPECT_EQ(j["error"], text);
    } else if (n == "SleepStarted") {
      EXPECT_EQ(j["wake_at_ms"], 1700000000001);
    } else if (n == "WaitStarted") {
      EXPECT_EQ(j["match_value"], text);
    } else if (n == "RunResumed") {
      EXPECT_EQ(j["reason"], "RetryDue");
    } else if (n == "RunCompleted") {
      EXPECT_EQ(j["output"], bytes);
    } else if (n == "RunFailed") {
      EXPECT_EQ(j["failure_handler_run_id"], 10);
    } else if (n == "RunCancelled") {
      EXPECT_EQ(j["reason"], text);
    } else if (n == "RunAdmitted") {
      EXPECT_EQ(j["at_ms"], 15);
      EXPECT_EQ(j["throttle_key"], text);
      EXPECT_EQ(j["has_rate_limit"], true);
    } else if (n == "RunSkipped") {
      EXPECT_EQ(j["run_id"], 16);
      EXPECT_EQ(j["reason"], text);
    } else if (n == "CronCursor") {
      EXPECT_EQ(j["expression"], text);
      EXPECT_EQ(j["tick_ms"], 1700000000000);
      EXPECT_EQ(j["skipped_ticks"], 17);
    } else if (n == "EventBatch") {
      ASSERT_EQ(j["events"].size(), 2u);
      EXPECT_EQ(j["events"][0]["event_id"], text);
      EXPECT_EQ(j["events"][0]["first_run_id"], 20);
      EXPECT_EQ(j["events"][1]["name"], "n");
    } else if (n == "Blob") {
      EXPECT_EQ(j["producer"], 12);
      EXPECT_EQ(j["seq"], 13);
      EXPECT_EQ(j["data"], bytes);
    } else {
      ADD_FAILURE() << "no expectations for " << n;
    }
  }
}

TEST(PayloadJson, EmptyVectorsAndStringsRenderAsValidJson) {
  for (const SampleRecord& r : sample_record_of_each_type("", true)) {
    SCOPED_TRACE(r.type_name);
    const json j = render(r);
    if (r.type_name == "Blob") {
      EXPECT_EQ(j["data"], json::array());
    }
    if (r.type_name == "RunCancelled") {
      EXPECT_EQ(j["reason"], "");
    }
  }
}

// Strings in records hold what users send (event data, error messages) and FlatBuffers does not
// check them for UTF-8: a byte that is not UTF-8 becomes U+FFFD, so the result is still JSON.
TEST(PayloadJson, StringsThatAreNotUtf8RenderAsValidJson) {
  for (const SampleRecord& r : sample_record_of_each_type("bad \xff byte", false)) {
    SCOPED_TRACE(r.type_name);
    render(r);
  }
}

}  // namespace
}  // namespace cairn::testing

namespace cairn::testing {
namespace {

// A recorded value is shown as its codec's format says: what `cairn log dump` prints for a step
// that returned 42, "hello" or {"a":[1,2]} is that value, not its bytes.
TEST(PayloadJson, RecordedValuesRenderAsTheirFormat) {
  using schema::ValueFormat;
  struct Case {
    std::string bytes;
    ValueFormat format;
    nlohmann::json expected;
  };
  const Case cases[] = {
      {"42", ValueFormat::Json, 42},
      {"-1.5", ValueFormat::Json, -1.5},
      {"{\"a\": [1, 2]}", ValueFormat::Json, nlohmann::json{{"a", {1, 2}}}},
      {"not json", ValueFormat::Json, "not json"},  // a codec that lied: still valid output
      {"hello \"you\"", ValueFormat::Text, "hello \"you\""},
      {"\xff\x01", ValueFormat::Bytes, nlohmann::json::array({255, 1})},
      {"", ValueFormat::Json, nullptr},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.bytes);
    for (bool step : {true, false}) {
      flatbuffers::FlatBufferBuilder fbb;
      auto out = fbb.CreateVector(reinterpret_cast<const uint8_t*>(c.bytes.data()), c.bytes.size());
      log::RecordType type;
      if (step) {
        auto ref = schema::CreateStepRef(fbb, 1, 0, fbb.CreateString("s"));
        fbb.Finish(schema::CreateStepCompleted(fbb, ref, 1, out, c.format, 10, 20));
        type = static_cast<log::RecordType>(schema::RecordType::StepCompleted);
      } else {
        fbb.Finish(schema::CreateRunCompleted(fbb, 1, out, c.format, 30));
        type = static_cast<log::RecordType>(schema::RecordType::RunCompleted);
      }
      std::span<const std::byte> payload(reinterpret_cast<const std::byte*>(fbb.GetBufferPointer()),
                                         fbb.GetSize());
      ASSERT_TRUE(schema::verify_payload(type, payload));
      const nlohmann::json j = nlohmann::json::parse(schema::payload_to_json(type, payload));
      EXPECT_EQ(j["output"], c.expected) << j.dump();
    }
  }
}

// Each record type always has the same keys: a field FlatBuffers did not store because it holds
// its default is shown as that default ("" for a string, null for a JSON-text string or a table).
TEST(PayloadJson, AFieldHoldingItsDefaultIsShownAsThatDefault) {
  {
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(schema::CreateRunCancelled(fbb, 7));
    const auto type = static_cast<log::RecordType>(schema::RecordType::RunCancelled);
    std::span<const std::byte> payload(reinterpret_cast<const std::byte*>(fbb.GetBufferPointer()),
                                       fbb.GetSize());
    ASSERT_TRUE(schema::verify_payload(type, payload));
    EXPECT_EQ(nlohmann::json::parse(schema::payload_to_json(type, payload)),
              (nlohmann::json{{"run_id", 7}, {"reason", ""}, {"at_us", 0}}));
  }
  {
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(schema::CreateWaitStarted(fbb, 0, fbb.CreateString("e")));
    const auto type = static_cast<log::RecordType>(schema::RecordType::WaitStarted);
    std::span<const std::byte> payload(reinterpret_cast<const std::byte*>(fbb.GetBufferPointer()),
                                       fbb.GetSize());
    ASSERT_TRUE(schema::verify_payload(type, payload));
    EXPECT_EQ(nlohmann::json::parse(schema::payload_to_json(type, payload)),
              (nlohmann::json{{"step", nullptr},
                              {"event_name", "e"},
                              {"match_path", ""},
                              {"match_value", nullptr},
                              {"timeout_at_ms", 0},
                              {"at_us", 0}}));
  }
}

// JSON nested deeper than kJsonDepthMax is valid (the engine accepts it), but rendering it as JSON
// recursed once per level and overflowed the stack: it is shown as a string, like text that does
// not parse. Brackets inside strings do not count.
TEST(PayloadJson, JsonNestedDeeperThanTheLimitRendersAsAString) {
  using schema::ValueFormat;
  const size_t max = schema::kJsonDepthMax;
  auto arrays = [](size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_EQ(schema::value_to_json(arrays(max), ValueFormat::Json), arrays(max));
  EXPECT_EQ(nlohmann::json::parse(schema::value_to_json(arrays(max + 1), ValueFormat::Json)),
            nlohmann::json(arrays(max + 1)));
  std::string objects;
  for (size_t i = 0; i <= max; ++i) objects += R"({"k":)";
  objects += "1" + std::string(max + 1, '}');
  EXPECT_EQ(nlohmann::json::parse(schema::value_to_json(objects, ValueFormat::Json)),
            nlohmann::json(objects));
  // In a string, brackets are text, and an escaped quote does not end it.
  const std::string in_string = R"(["\")" + std::string(2 * max, '[') + R"("])";
  EXPECT_EQ(schema::value_to_json(in_string, ValueFormat::Json), in_string);
  // Far deeper than a stack holds: still one string, no crash.
  const std::string deep = R"({"a":)" + arrays(120'000) + "}";
  EXPECT_EQ(nlohmann::json::parse(schema::value_to_json(deep, ValueFormat::Json)),
            nlohmann::json(deep));
}

}  // namespace
}  // namespace cairn::testing
