// `cairn log export` on a log a real engine wrote: one JSON line per record with lsn, type and
// time, every field of the payload, values as JSON by their format (a string output is a string);
// `log dump --json` shows the same payloads.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "cairn_cli.h"
#include "engine_logs.h"
#include "support/temp_dir.h"

namespace cairn::testing {
namespace {

using nlohmann::json;

class LogExportCommand : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    runs_ = write_sample_engine_dir(dir_->path());
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string log_dir() { return (dir_->path() / "log").string(); }

  static std::vector<json> export_lines(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"log", "export", log_dir()};
    args.insert(args.end(), extra.begin(), extra.end());
    const CliResult r = run_cairn(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<json> lines;
    for (const std::string& line : split_lines(r.out)) {
      json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
      EXPECT_FALSE(j.is_discarded()) << line;
      lines.push_back(std::move(j));
    }
    return lines;
  }
  // The StepCompleted line of this step of this run.
  static json step_line(const std::vector<json>& lines, RunId run, const std::string& step) {
    for (const json& l : lines) {
      if (l["type"] == "StepCompleted" && l["payload"]["step"]["run_id"] == run &&
          l["payload"]["step"]["step_id"] == step) {
        return l;
      }
    }
    ADD_FAILURE() << "no StepCompleted of " << step << " in run " << run;
    return json::object();
  }

  static TempDir* dir_;
  static SampleRuns runs_;
};

TempDir* LogExportCommand::dir_ = nullptr;
SampleRuns LogExportCommand::runs_;

TEST_F(LogExportCommand, EveryLineIsJsonWithLsnTypeTimeAndPayload) {
  ASSERT_NE(runs_.waiting, 0u);
  const auto lines = export_lines();
  ASSERT_GE(lines.size(), 10u);
  uint64_t last_lsn = 0;
  std::set<std::string> types;
  for (size_t i = 0; i < lines.size(); ++i) {
    const json& l = lines[i];
    ASSERT_TRUE(l["lsn"].is_number_unsigned()) << l;
    if (i > 0) {
      EXPECT_GT(l["lsn"].get<uint64_t>(), last_lsn);
    }
    last_lsn = l["lsn"];
    ASSERT_TRUE(l["type"].is_string()) << l;
    types.insert(l["type"]);
    ASSERT_TRUE(l["payload"].is_object()) << l;
    // Every engine record carries its time.
    ASSERT_TRUE(l["time_us"].is_number_integer()) << l;
    ASSERT_TRUE(l["time"].get<std::string>().ends_with("Z")) << l;
  }
  for (const char* t : {"EventAccepted", "StepCompleted", "StepFailed", "RunResumed", "WaitStarted",
                        "RunCompleted", "RunFailed"}) {
    EXPECT_EQ(types.count(t), 1u) << t;
  }
}

TEST_F(LogExportCommand, ValuesAreJsonByTheirFormatAndAStringOutputIsAString) {
  const auto lines = export_lines();
  const json hello = step_line(lines, runs_.completed, "hello");
  ASSERT_TRUE(hello["payload"]["output"].is_string()) << hello;
  EXPECT_EQ(hello["payload"]["output"], "hello, Ada");
  EXPECT_EQ(hello["payload"]["output_format"], "Text");
  const json count = step_line(lines, runs_.completed, "count");
  EXPECT_EQ(count["payload"]["output"], 42);
  EXPECT_EQ(count["payload"]["output_format"], "Json");
  bool saw_result = false;
  bool saw_event = false;
  for (const json& l : lines) {
    if (l["type"] == "RunCompleted" && l["payload"]["run_id"] == runs_.completed) {
      EXPECT_EQ(l["payload"]["output"], "done");
      saw_result = true;
    }
    if (l["type"] == "EventAccepted" && l["payload"]["name"] == "greet/requested") {
      EXPECT_EQ(l["payload"]["data"], json({{"name", "Ada"}}));  // event data: JSON, not text
      saw_event = true;
    }
    if (l["type"] == "WaitStarted") {
      EXPECT_EQ(l["payload"]["match_value"], "A-17") << l;  // the JSON value "A-17"
    }
  }
  EXPECT_TRUE(saw_result);
  EXPECT_TRUE(saw_event);
}

// Complete: every field of the table, whether or not FlatBuffers stored it (the first run's id
// and a first position of 0 are defaults it leaves out).
TEST_F(LogExportCommand, EveryFieldOfTheTableIsThere) {
  const auto lines = export_lines();
  const json hello = step_line(lines, runs_.completed, "hello");
  for (const char* key :
       {"step", "attempt", "output", "output_format", "started_us", "finished_us"}) {
    EXPECT_TRUE(hello["payload"].contains(key)) << key << " " << hello;
  }
  EXPECT_EQ(hello["payload"]["step"]["position"], 0);
  EXPECT_TRUE(hello["payload"]["step"].contains("run_id")) << hello;
  for (const json& l : lines) {
    if (l["type"] == "EventAccepted") {
      for (const char* key : {"event_id", "name", "data", "ts_ms", "first_run_id", "functions",
                              "origin", "duplicate", "accepted_us"}) {
        EXPECT_TRUE(l["payload"].contains(key)) << key << " " << l;
      }
      EXPECT_TRUE(l["payload"]["origin"].is_null());
      EXPECT_EQ(l["payload"]["duplicate"], false);
    }
    if (l["type"] == "StepFailed") {
      EXPECT_TRUE(l["payload"].contains("retry_at_ms")) << l;  // 0 on the last attempt
      EXPECT_TRUE(l["payload"]["kind"].is_string()) << l;
    }
  }
}

TEST_F(LogExportCommand, DumpShowsTheSamePayloadsAsExport) {
  const auto lines = export_lines();
  const CliResult dump = run_cairn({"log", "dump", log_dir(), "--json"});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  const auto dumped = split_lines(dump.out);
  ASSERT_EQ(dumped.size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const json d = json::parse(dumped[i]);
    EXPECT_EQ(d["lsn"], lines[i]["lsn"]);
    EXPECT_EQ(d["payload"], lines[i]["payload"]) << dumped[i];
  }
  // The text dump has the string output as a string too.
  const CliResult text = run_cairn({"log", "dump", log_dir()});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("\"output\":\"hello, Ada\""), std::string::npos) << text.out;
}

TEST_F(LogExportCommand, FromStartsAtThatLsn) {
  const auto all = export_lines();
  ASSERT_GE(all.size(), 3u);
  const auto rest = export_lines({"--from", all[2]["lsn"].dump()});
  ASSERT_EQ(rest.size(), all.size() - 2);
  EXPECT_EQ(rest[0], all[2]);
}

TEST(LogExportCommandInput, MissingDirectoryExitsTwo) {
  TempDir dir;
  const CliResult r = run_cairn({"log", "export", (dir.path() / "nothing").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no such directory"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace cairn::testing
