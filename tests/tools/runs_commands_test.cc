// `cairn runs list` and `cairn runs show` on a directory a real engine wrote: a completed, a failed
// and a waiting run, their statuses, attempts, errors and outputs as the engine recorded them;
// filters, paging, --at, and the errors (unknown run, bad status, missing directory).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "cairn/engine.h"
#include "cairn/errors.h"
#include "cairn/log/log.h"
#include "cairn_cli.h"
#include "engine_logs.h"
#include "support/blob_records.h"
#include "support/temp_dir.h"
#include "test_logs.h"

namespace cairn::testing {
namespace {

using nlohmann::json;

// One engine directory for every test that only reads it.
class RunsCommands : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    runs_ = write_sample_engine_dir(dir_->path());
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(runs_.completed, 0u);
    ASSERT_NE(runs_.failed, 0u);
    ASSERT_NE(runs_.waiting, 0u);
  }

  static CliResult cairn(const std::string& group, const std::string& command,
                         std::vector<std::string> extra) {
    std::vector<std::string> args = {group, command, dir_->path().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cairn(args);
  }
  static json list_json(std::vector<std::string> extra) {
    extra.push_back("--json");
    const CliResult r = cairn("runs", "list", extra);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  static json show_json(RunId id, std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), std::to_string(id));
    extra.push_back("--json");
    const CliResult r = cairn("runs", "show", extra);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  // The entries of a `runs show --json` of this kind.
  static std::vector<json> entries(const json& show, const std::string& kind) {
    std::vector<json> out;
    for (const json& e : show["entries"]) {
      if (e["kind"] == kind) out.push_back(e);
    }
    return out;
  }

  static TempDir* dir_;
  static SampleRuns runs_;
};

TempDir* RunsCommands::dir_ = nullptr;
SampleRuns RunsCommands::runs_;

TEST_F(RunsCommands, ListShowsEveryRunNewestFirstWithItsStatus) {
  const CliResult r = cairn("runs", "list", {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = split_lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;  // the header and three runs
  EXPECT_EQ(lines[0].rfind("RUN", 0), 0u) << lines[0];
  for (const char* column :
       {"FUNCTION", "STATUS", "CREATED", "FINISHED", "STEPS", "ATTEMPTS", "ERROR"}) {
    EXPECT_NE(lines[0].find(column), std::string::npos) << lines[0];
  }
  auto starts_with_run = [](const std::string& line, RunId id, const std::string& rest) {
    return line.rfind(std::to_string(id) + " ", 0) == 0 && line.find(rest) != std::string::npos;
  };
  EXPECT_TRUE(starts_with_run(lines[1], runs_.waiting, "approve")) << lines[1];
  EXPECT_NE(lines[1].find("waiting"), std::string::npos) << lines[1];
  EXPECT_TRUE(starts_with_run(lines[2], runs_.failed, "charge")) << lines[2];
  EXPECT_NE(lines[2].find("failed"), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("payment API down"), std::string::npos) << lines[2];
  EXPECT_TRUE(starts_with_run(lines[3], runs_.completed, "greet")) << lines[3];
  EXPECT_NE(lines[3].find("completed"), std::string::npos) << lines[3];
}

TEST_F(RunsCommands, ListJsonHasStatusTimesStepsAttemptsAndErrors) {
  const json j = list_json({});
  ASSERT_TRUE(j.is_object()) << j;
  ASSERT_EQ(j["runs"].size(), 3u) << j;
  EXPECT_EQ(j["matched"], 3);
  EXPECT_TRUE(j["next_before"].is_null());
  const json& waiting = j["runs"][0];
  const json& failed = j["runs"][1];
  const json& completed = j["runs"][2];

  EXPECT_EQ(completed["id"], runs_.completed);
  EXPECT_EQ(completed["function"], "greet");
  EXPECT_EQ(completed["status"], "completed");
  EXPECT_EQ(completed["event"], "greet/requested");
  EXPECT_EQ(completed["steps"], 2);
  EXPECT_EQ(completed["attempts"], 2);
  EXPECT_TRUE(completed["error"].is_null());
  EXPECT_GE(completed["finished_us"].get<int64_t>(), completed["created_us"].get<int64_t>());
  EXPECT_TRUE(completed["created"].get<std::string>().ends_with("Z")) << completed;

  EXPECT_EQ(failed["id"], runs_.failed);
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_EQ(failed["attempts"], 2);  // the first attempt and its one retry
  EXPECT_NE(failed["error"].get<std::string>().find("payment API down"), std::string::npos)
      << failed;
  EXPECT_FALSE(failed["finished"].is_null());

  EXPECT_EQ(waiting["id"], runs_.waiting);
  EXPECT_EQ(waiting["status"], "waiting");
  EXPECT_EQ(waiting["steps"], 1);  // reserve; the wait has not resolved
  EXPECT_TRUE(waiting["finished"].is_null());
  EXPECT_TRUE(waiting["finished_us"].is_null());
}

TEST_F(RunsCommands, ListFiltersByStatusFunctionAndTime) {
  json j = list_json({"--status", "failed"});
  ASSERT_EQ(j["runs"].size(), 1u) << j;
  EXPECT_EQ(j["runs"][0]["id"], runs_.failed);
  j = list_json({"--status", "waiting"});
  ASSERT_EQ(j["runs"].size(), 1u) << j;
  EXPECT_EQ(j["runs"][0]["id"], runs_.waiting);
  j = list_json({"--function", "greet"});
  ASSERT_EQ(j["runs"].size(), 1u) << j;
  EXPECT_EQ(j["runs"][0]["id"], runs_.completed);
  EXPECT_EQ(list_json({"--function", "nobody"})["runs"].size(), 0u);
  EXPECT_EQ(list_json({"--since", "1h"})["runs"].size(), 3u);
  EXPECT_EQ(list_json({"--since", "2000-01-01T00:00:00Z"})["runs"].size(), 3u);
  EXPECT_EQ(list_json({"--since", "2999-01-01"})["runs"].size(), 0u);
  // Created at or after the failed run: it and the waiting one.
  const std::string since = list_json({"--status", "failed"})["runs"][0]["created"];
  j = list_json({"--since", since});
  ASSERT_EQ(j["runs"].size(), 2u) << j;
  EXPECT_EQ(j["runs"][1]["id"], runs_.failed);

  const CliResult none = cairn("runs", "list", {"--status", "completed", "--function", "charge"});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "no runs match\n");
}

TEST_F(RunsCommands, ListPagesWithLimitAndBefore) {
  json j = list_json({"--limit", "2"});
  ASSERT_EQ(j["runs"].size(), 2u) << j;
  EXPECT_EQ(j["matched"], 3);
  EXPECT_EQ(j["runs"][0]["id"], runs_.waiting);
  EXPECT_EQ(j["next_before"], runs_.failed);
  j = list_json({"--limit", "2", "--before", std::to_string(runs_.failed)});
  ASSERT_EQ(j["runs"].size(), 1u) << j;
  EXPECT_EQ(j["runs"][0]["id"], runs_.completed);
  EXPECT_TRUE(j["next_before"].is_null());

  const CliResult text = cairn("runs", "list", {"--limit", "1"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("2 more matching runs: next page with --before " +
                          std::to_string(runs_.waiting)),
            std::string::npos)
      << text.out;
}

TEST_F(RunsCommands, ListRejectsBadArgumentsWithExitTwo) {
  // --before 0 read as "no bound": a script paging until 0 got the first page again, for ever.
  CliResult zero = cairn("runs", "list", {"--before", "0"});
  EXPECT_EQ(zero.exit_code, 2) << zero.out;
  EXPECT_NE(zero.err.find("--before"), std::string::npos) << zero.err;
  CliResult r = cairn("runs", "list", {"--status", "exploded"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown run status 'exploded'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("waiting"), std::string::npos) << r.err;  // it names the valid ones
  EXPECT_EQ(r.out, "");
  r = cairn("runs", "list", {"--since", "yesterday-ish"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot read the time 'yesterday-ish'"), std::string::npos) << r.err;
  EXPECT_EQ(cairn("runs", "list", {"--limit", "0"}).exit_code, 2);
  EXPECT_EQ(cairn("runs", "list", {"--limit", "-3"}).exit_code, 2);
}

TEST_F(RunsCommands, MissingOrWrongDirectoryExitsTwo) {
  const std::string missing = (dir_->path() / "no-such-engine").string();
  for (const char* cmd : {"list", "show"}) {
    std::vector<std::string> args = {"runs", cmd, missing};
    if (std::string(cmd) == "show") args.push_back("1");
    const CliResult r = run_cairn(args);
    EXPECT_EQ(r.exit_code, 2) << cmd;
    EXPECT_NE(r.err.find("no such directory: " + missing), std::string::npos) << r.err;
  }
  // The log directory itself, instead of the engine's.
  const CliResult r = run_cairn({"runs", "list", (dir_->path() / "log").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is a log directory"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("try " + dir_->path().string()), std::string::npos) << r.err;
  {
    // Relative, with a trailing '/': the hint still names the engine's directory (it named
    // "log" itself, or nothing for a path without a parent).
    ScopedCurrentDir here(dir_->path());
    for (const char* rel : {"log", "log/", "./log/."}) {
      const CliResult h = run_cairn({"runs", "list", rel});
      EXPECT_EQ(h.exit_code, 2) << rel;
      EXPECT_TRUE(h.err.ends_with("try " + std::filesystem::current_path().string() + "\n"))
          << rel << ": " << h.err;
    }
  }
  // A directory that is no engine's.
  TempDir empty;
  const CliResult e = run_cairn({"runs", "list", empty.path().string()});
  EXPECT_EQ(e.exit_code, 2);
  EXPECT_NE(e.err.find("no log/ subdirectory"), std::string::npos) << e.err;
}

TEST_F(RunsCommands, ShowCompletedRunHasItsStepsAndOutputsByFormat) {
  const json j = show_json(runs_.completed);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["run"]["function"], "greet");
  EXPECT_EQ(j["run"]["status"], "completed");
  ASSERT_GE(j["entries"].size(), 4u) << j;
  const json& created = j["entries"][0];
  EXPECT_EQ(created["kind"], "created");
  EXPECT_EQ(created["event"]["name"], "greet/requested");
  EXPECT_EQ(created["event"]["data"], json({{"name", "Ada"}}));  // the data as JSON, not text
  const auto steps = entries(j, "step completed");
  ASSERT_EQ(steps.size(), 2u) << j;
  EXPECT_EQ(steps[0]["step_id"], "hello");
  EXPECT_EQ(steps[0]["value"], "hello, Ada");  // text: a string
  EXPECT_EQ(steps[0]["format"], "text");
  EXPECT_EQ(steps[0]["attempt"], 1);
  EXPECT_GE(steps[0]["duration_us"].get<int64_t>(), 0);
  EXPECT_EQ(steps[1]["step_id"], "count");
  EXPECT_EQ(steps[1]["value"], 42);  // JSON: the number
  EXPECT_EQ(steps[1]["position"], 1);
  const json& end = j["entries"].back();
  EXPECT_EQ(end["kind"], "completed");
  EXPECT_EQ(end["value"], "done");

  const CliResult text = cairn("runs", "show", {std::to_string(runs_.completed)});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("function greet  status completed"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("created by event greet/requested"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("step #0 hello attempt 1 completed in "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(": \"hello, Ada\""), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("step #1 count attempt 1 completed in "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("completed: \"done\""), std::string::npos) << text.out;
}

TEST_F(RunsCommands, ShowFailedRunHasEveryAttemptWithItsError) {
  const json j = show_json(runs_.failed);
  EXPECT_EQ(j["run"]["status"], "failed");
  const auto failures = entries(j, "step failed");
  ASSERT_EQ(failures.size(), 2u) << j;
  EXPECT_EQ(failures[0]["attempt"], 1);
  EXPECT_EQ(failures[1]["attempt"], 2);
  for (const json& f : failures) {
    EXPECT_EQ(f["step_id"], "call-api");
    EXPECT_NE(f["value"].get<std::string>().find("payment API down"), std::string::npos) << f;
  }
  EXPECT_FALSE(failures[0]["deadline"].is_null());  // a retry was due
  EXPECT_TRUE(failures[1]["deadline"].is_null());   // no retry left
  const auto resumed = entries(j, "resumed");
  ASSERT_EQ(resumed.size(), 1u) << j;  // the retry came due
  EXPECT_EQ(resumed[0]["value"], "retry due");
  EXPECT_EQ(resumed[0]["step_id"], "call-api");
  EXPECT_EQ(j["entries"].back()["kind"], "failed");

  const CliResult text = cairn("runs", "show", {std::to_string(runs_.failed)});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("attempt 2 failed after "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("; no retry left"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("; retry at "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("#0 call-api resumed: retry due"), std::string::npos) << text.out;
}

TEST_F(RunsCommands, ShowWaitingRunHasItsWaitWithDeadline) {
  const json j = show_json(runs_.waiting);
  EXPECT_EQ(j["run"]["status"], "waiting");
  const auto waits = entries(j, "wait");
  ASSERT_EQ(waits.size(), 1u) << j;
  EXPECT_EQ(waits[0]["step_id"], "approval");
  EXPECT_EQ(waits[0]["event"]["name"], "order/approved");
  EXPECT_EQ(waits[0]["value"], "data.order_id");
  ASSERT_FALSE(waits[0]["deadline"].is_null());
  // An hour's timeout: the deadline is about an hour after the wait began.
  const int64_t began = waits[0]["at_us"];
  EXPECT_GT(waits[0]["deadline"].get<std::string>(), waits[0]["at"].get<std::string>());
  EXPECT_GT(began, 0);
  EXPECT_EQ(entries(j, "completed").size(), 0u);
  const CliResult text = cairn("runs", "show", {std::to_string(runs_.waiting)});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("wait #1 approval for event order/approved matching data.order_id, "
                          "until "),
            std::string::npos)
      << text.out;
}

TEST_F(RunsCommands, ShowAtAnLsnShowsTheRunAsItStoodThen) {
  const json full = show_json(runs_.completed);
  ASSERT_GE(full["entries"].size(), 4u);
  // As of the first step's record: created, and one step.
  const uint64_t first_step = full["entries"][1]["lsn"];
  const json then = show_json(runs_.completed, {"--at", std::to_string(first_step)});
  EXPECT_EQ(then["entries"].size(), 2u) << then;
  EXPECT_LT(then["entries"].size(), full["entries"].size());
  EXPECT_EQ(then["at"], first_step);
  EXPECT_EQ(then["run"]["status"], "running");  // not completed yet at that point
  EXPECT_TRUE(then["run"]["finished"].is_null());

  // One byte before that record: only its creation.
  const json before = show_json(runs_.completed, {"--at", std::to_string(first_step - 1)});
  EXPECT_EQ(before["entries"].size(), 1u) << before;
  EXPECT_EQ(before["run"]["status"], "queued");

  // Before the run existed: not found.
  const uint64_t created = full["entries"][0]["lsn"];
  if (created > 0) {
    const CliResult r = cairn(
        "runs", "show", {std::to_string(runs_.completed), "--at", std::to_string(created - 1)});
    EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
    EXPECT_NE(r.err.find("up to LSN " + std::to_string(created - 1)), std::string::npos) << r.err;
  }
}

TEST_F(RunsCommands, ShowUnknownRunExitsThreeSayingSo) {
  const CliResult r = cairn("runs", "show", {"999999"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.err.find("no run 999999 in the log of " + dir_->path().string()), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("cairn runs list"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  // Not a number at all: a usage error.
  EXPECT_EQ(cairn("runs", "show", {"seven"}).exit_code, 2);
  EXPECT_EQ(cairn("runs", "show", {}).exit_code, 2);
}

// Run ids start at 1; 0 in a record means "none" (a failed run without a failure handler says
// failure_handler_run_id 0): 0 is no run id, a usage error before the log is read.
TEST_F(RunsCommands, ShowRunZeroIsNoRunId) {
  const CliResult r = cairn("runs", "show", {"0"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.err.find("0 is not a run id (run ids start at 1)"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(cairn("runs", "show", {"0", "--json"}).exit_code, 2);
}

// Run ids and LSNs are decimal, as every command prints them: a leading zero means nothing (CLI11
// read "010" as octal, run 8, and `runs cancel` cancelled the wrong run), and a base prefix is
// refused.
TEST_F(RunsCommands, RunIdsAreDecimalWhateverTheirLeadingZeros) {
  const CliResult padded =
      cairn("runs", "show", {"00" + std::to_string(runs_.completed), "--json"});
  EXPECT_EQ(padded.exit_code, 0) << padded.err;
  EXPECT_EQ(padded.out, cairn("runs", "show", {std::to_string(runs_.completed), "--json"}).out);
  const CliResult ten = cairn("runs", "show", {"010"});
  EXPECT_EQ(ten.exit_code, 3) << ten.err;
  EXPECT_NE(ten.err.find("no run 10 "), std::string::npos) << ten.err;
  for (const char* prefixed : {"0x1", "0b1", "0o1", "0X1"}) {
    const CliResult r = cairn("runs", "show", {prefixed});
    EXPECT_EQ(r.exit_code, 2) << prefixed << ": " << r.err;
    EXPECT_NE(r.err.find("is not a decimal number"), std::string::npos) << r.err;
  }
  const CliResult at = cairn("runs", "show", {std::to_string(runs_.completed), "--at", "0x10"});
  EXPECT_EQ(at.exit_code, 2) << at.err;
  // No run has id 0: a usage error (exit 2) from every command that takes ids, stopped engine or
  // live (a stopped engine's directory said "no run 0", exit 3; a live one "not a run id", exit 2).
  for (const char* command : {"show", "cancel", "replay"}) {
    const CliResult zero = cairn("runs", command, {"000"});
    EXPECT_EQ(zero.exit_code, 2) << command << ": " << zero.err;
    EXPECT_NE(zero.err.find("0 is not a run id"), std::string::npos) << command << ": " << zero.err;
  }
}

// A crash leaves a torn write at the end of the log: the records before it are the whole story
// (the engine cuts the tail at its next start), so the commands answer from them and say so. The
// torn records come after the engine's newest snapshot (its shutdown wrote one), as they must for
// a torn tail: what a snapshot covers was durable.
TEST(RunsCommandsDamage, TornTailIsNotedAndTheRunsBeforeItAreShown) {
  TempDir dir;
  const SampleRuns runs = write_sample_engine_dir(dir.path());
  ASSERT_NE(runs.waiting, 0u);
  {
    auto log = log::Log::open(dir.path() / "log", multi_segment_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    for (uint64_t seq = 0; seq < 3; ++seq) {
      ASSERT_TRUE((*log)->append(kBlobType, test_blob(7, seq)).ok());
    }
    const Status st = (*log)->close();
    ASSERT_TRUE(st.ok()) << st.to_string();
  }
  // A torn write means a crash: no clean-close marker (which would prove the records durable).
  std::filesystem::remove(dir.path() / "log" / "CLOSED");
  const auto segments = segment_files(dir.path() / "log");
  ASSERT_FALSE(segments.empty());
  zero_last_nonzero_bytes(segments.back(), 16);
  const CliResult r = run_cairn({"runs", "list", dir.path().string(), "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("torn tail"), std::string::npos) << r.err;
  const json j = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_EQ(j["runs"].size(), 3u) << j;
  EXPECT_EQ(j["runs"][1]["status"], "failed");
  EXPECT_EQ(j["runs"][2]["status"], "completed");

  const CliResult show =
      run_cairn({"runs", "show", dir.path().string(), std::to_string(runs.completed)});
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("completed: \"done\""), std::string::npos) << show.out;
}

// The LSN of the newest snapshot in an engine's directory (0 when there is none).
log::Lsn newest_snapshot_lsn(const std::filesystem::path& dir) {
  log::Lsn newest = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "snapshots")) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("snapshot-") && name.ends_with(".snap")) {
      newest = std::max<log::Lsn>(newest, std::stoull(name.substr(9, 20)));
    }
  }
  return newest;
}

// Damage at the end of the log but before the engine's newest snapshot is no torn tail: the
// engine wrote that snapshot after those records were durable, and it refuses to open the log
// rather than cut them. The tools say the same: corruption, exit 1 — not a note that the engine
// cuts it, not "no run" for a run created after it, not a repair that "loses nothing".
TEST(RunsCommandsDamage, DamageBeforeTheNewestSnapshotIsCorruptionNotATornTail) {
  TempDir dir;
  const SampleRuns runs = write_sample_engine_dir(dir.path());
  ASSERT_NE(runs.waiting, 0u);
  const std::string log_dir = (dir / "log").string();
  // The record of the event that created the waiting run, in the last segment.
  const CliResult dump = run_cairn({"log", "dump", log_dir, "--json"});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  std::optional<json> created;
  for (const std::string& line : split_lines(dump.out)) {
    const json j = json::parse(line);
    if (j["type"] == "EventAccepted" && j["payload"]["name"] == "order/placed") created = j;
  }
  ASSERT_TRUE(created.has_value()) << dump.out;
  const auto segments = segment_files(dir / "log");
  ASSERT_EQ(std::stoull(segments.back().filename().string().substr(0, 8)),
            created->at("segment").get<uint64_t>());
  ASSERT_GT(newest_snapshot_lsn(dir.path()), created->at("lsn").get<log::Lsn>());
  flip_bit(segments.back(), created->at("offset").get<uint64_t>() + 40, 2);

  const CliResult verify = run_cairn({"log", "verify", log_dir, "--json"});
  EXPECT_EQ(verify.exit_code, 1) << verify.err;
  const json v = json::parse(verify.out, nullptr, false);
  EXPECT_EQ(v["damage"]["kind"], "corruption") << verify.out;
  EXPECT_EQ(v["damage"]["lsn"], created->at("lsn")) << verify.out;

  const CliResult list = run_cairn({"runs", "list", dir.path().string()});
  EXPECT_EQ(list.exit_code, 1) << list.err;
  EXPECT_EQ(list.err.find("torn tail"), std::string::npos) << list.err;
  EXPECT_NE(list.err.find("cairn log verify"), std::string::npos) << list.err;

  const CliResult show =
      run_cairn({"runs", "show", dir.path().string(), std::to_string(runs.waiting)});
  EXPECT_EQ(show.exit_code, 1) << show.err;

  const CliResult cancel =
      run_cairn({"runs", "cancel", dir.path().string(), std::to_string(runs.waiting)});
  EXPECT_EQ(cancel.exit_code, 1) << cancel.err;
  EXPECT_EQ(cancel.err.find("no run"), std::string::npos) << cancel.err;
  EXPECT_NE(cancel.err.find("nothing was cancelled"), std::string::npos) << cancel.err;

  const CliResult dry = run_cairn({"log", "recover", log_dir, "--dry-run"});
  EXPECT_EQ(dry.exit_code, 1) << dry.err;
  EXPECT_NE(dry.out.find("DAMAGED: corruption"), std::string::npos) << dry.out;
  EXPECT_EQ(dry.out.find("loses nothing that was acknowledged"), std::string::npos) << dry.out;
}

// Damage that is not a torn tail (a record whose checksum is good but whose payload is no record
// table: it was written that way): the output covers what came before it, and the exit is 1.
TEST(RunsCommandsDamage, CorruptionExitsOneAfterShowingWhatCameBefore) {
  TempDir dir;
  const SampleRuns runs = write_sample_engine_dir(dir.path());
  ASSERT_NE(runs.waiting, 0u);
  {
    auto log = log::Log::open(dir.path() / "log", multi_segment_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    ASSERT_TRUE((*log)->append(kBlobType, std::vector<std::byte>(16, std::byte{0xff})).ok());
    ASSERT_TRUE((*log)->append(kBlobType, test_blob(7, 1)).ok());
    const Status st = (*log)->close();
    ASSERT_TRUE(st.ok()) << st.to_string();
  }

  const CliResult r = run_cairn({"runs", "list", dir.path().string(), "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("damage"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cairn log verify"), std::string::npos) << r.err;
  const json j = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["runs"].size(), 3u) << j;

  const CliResult show =
      run_cairn({"runs", "show", dir.path().string(), std::to_string(runs.waiting)});
  EXPECT_EQ(show.exit_code, 1) << show.err;
  EXPECT_NE(show.out.find("status waiting"), std::string::npos) << show.out;
}

// A value whose codec says JSON, nested 120000 levels deep (the engine refuses event data that
// deep, but a step's output is whatever its codec wrote, and a log may come from anywhere):
// rendering it as JSON recursed once per level and crashed the commands. It is shown as a string.
struct DeepValue {
  std::string text;
};

}  // namespace
}  // namespace cairn::testing

template <>
struct cairn::Codec<cairn::testing::DeepValue> {
  static constexpr ValueFormat format = ValueFormat::kJson;
  static void encode(const cairn::testing::DeepValue& v, std::string& out) { out = v.text; }
  static cairn::testing::DeepValue decode(std::string_view bytes) { return {std::string(bytes)}; }
};

namespace cairn::testing {
namespace {

TEST(RunsCommandsDeepJson, DeeplyNestedJsonValueIsShownAsAString) {
  TempDir dir;
  const std::string data = R"({"a":)" + std::string(120'000, '[') + std::string(120'000, ']') + "}";
  RunId run = 0;
  {
    EngineOptions o;
    o.dir = dir.path();
    std::unique_ptr<Engine> engine = Engine::create(o);
    ASSERT_TRUE(engine
                    ->register_function({.id = "f", .triggers = {on_event("deep")}},
                                        [&](Context& ctx, const Event&) -> Task<std::string> {
                                          co_await ctx.run("deep", [&] { return DeepValue{data}; });
                                          co_return std::string("ok");
                                        })
                    .ok());
    ASSERT_TRUE(engine->start().ok());
    Result<SendResult> sent = engine->send(Event{.name = "deep", .data = "{}"});
    ASSERT_TRUE(sent.ok()) << sent.status().to_string();
    ASSERT_EQ(sent->runs.size(), 1u);
    run = sent->runs.front();
    EXPECT_TRUE(engine->wait_run(run).ok());
    EXPECT_TRUE(engine->shutdown().ok());
  }
  const std::string log_dir = (dir / "log").string();
  const CliResult dump = run_cairn({"log", "dump", log_dir, "--json"});
  EXPECT_EQ(dump.exit_code, 0) << dump.err;
  EXPECT_NE(dump.out.find(json(data).dump()), std::string::npos) << "the value as one string";
  const CliResult text_dump = run_cairn({"log", "dump", log_dir});
  EXPECT_EQ(text_dump.exit_code, 0) << text_dump.err;
  const CliResult exported = run_cairn({"log", "export", log_dir});
  EXPECT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_NE(exported.out.find(json(data).dump()), std::string::npos) << "the value as one string";

  const CliResult show = run_cairn({"runs", "show", dir.path().string(), std::to_string(run)});
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find(R"("{\"a\":[[[[)"), std::string::npos) << show.out.substr(0, 500);
  const CliResult show_json =
      run_cairn({"runs", "show", dir.path().string(), std::to_string(run), "--json"});
  EXPECT_EQ(show_json.exit_code, 0) << show_json.err;
  EXPECT_NE(show_json.out.find(json(data).dump()), std::string::npos) << "the value as one string";
}

// The engine's own view (list_runs) is the truth `runs list` derives from the log: statuses of
// every kind — sleeping (a sleep, a retry's backoff), waiting (an event, an invoked run),
// cancelled, an on_failure handler's run — must agree run by run.
TEST(RunsListAgreement, ListAgreesWithTheEngineRunByRun) {
  using namespace std::chrono_literals;
  TempDir dir;
  std::vector<RunInfo> expected;
  {
    std::unique_ptr<Engine> engine = Engine::create(sample_engine_options(dir.path()));
    register_sample_functions(*engine);
    auto ok = [](const Status& st) { EXPECT_TRUE(st.ok()) << st.to_string(); };
    ok(engine->register_function(
        {.id = "nap", .triggers = {on_event("nap/start")}},
        [](Context& ctx, const Event&) -> Task<void> { co_await ctx.sleep("nap", 1h); }));
    ok(engine->register_function({.id = "parent", .triggers = {on_event("parent/start")}},
                                 [](Context& ctx, const Event&) -> Task<std::string> {
                                   co_return co_await ctx.invoke("child", {.function = "nap"});
                                 }));
    ok(engine->register_function({.id = "doomed",
                                  .triggers = {on_event("doomed/start")},
                                  .on_failure = [](Context& ctx, const Event&) -> Task<void> {
                                    co_await ctx.run("alert", [] { return std::string("paged"); });
                                  }},
                                 [](Context& ctx, const Event&) -> Task<void> {
                                   co_await ctx.run("boom", []() -> int {
                                     throw NonRetriableError("no such account");
                                   });
                                 }));
    ok(engine->register_function({.id = "retrying",
                                  .triggers = {on_event("retrying/start")},
                                  .retries = 3,
                                  .backoff_base = 1h},
                                 [](Context& ctx, const Event&) -> Task<void> {
                                   co_await ctx.run("flaky", []() -> int {
                                     throw std::runtime_error("try later");
                                   });
                                 }));
    ok(engine->register_function({.id = "patient", .triggers = {on_event("patient/start")}},
                                 [](Context& ctx, const Event&) -> Task<void> {
                                   co_await ctx.wait_for_event("never", {.event = "never/happens"});
                                 }));
    ok(engine->start());
    auto start = [&](const std::string& name) {
      Result<SendResult> r = engine->send(Event{.name = name, .data = "{}"});
      EXPECT_TRUE(r.ok() && r->runs.size() == 1) << name;
      return r.ok() && !r->runs.empty() ? r->runs.front() : RunId{0};
    };
    const RunId greet = start("greet/requested");
    const RunId nap = start("nap/start");
    const RunId parent = start("parent/start");
    const RunId doomed = start("doomed/start");
    const RunId retrying = start("retrying/start");
    const RunId patient = start("patient/start");
    const RunId cancelled = start("patient/start");
    auto settles = [&](RunId id, RunStatus want) {
      const auto end = std::chrono::steady_clock::now() + 20s;
      while (std::chrono::steady_clock::now() < end) {
        Result<RunInfo> info = engine->get_run(id);
        if (info.ok() && info->status == want) return;
        std::this_thread::sleep_for(1ms);
      }
      ADD_FAILURE() << "run " << id << " never became " << run_status_name(want);
    };
    settles(greet, RunStatus::kCompleted);
    settles(nap, RunStatus::kSleeping);
    settles(parent, RunStatus::kWaiting);
    settles(doomed, RunStatus::kFailed);
    settles(retrying, RunStatus::kSleeping);
    settles(patient, RunStatus::kWaiting);
    settles(cancelled, RunStatus::kWaiting);
    ok(engine->cancel(cancelled, "not needed"));
    settles(cancelled, RunStatus::kCancelled);
    // The failure handler's run (the id after the last one) finishes too.
    const RunPage all = engine->list_runs(RunQuery{.limit = 1000});
    for (const RunInfo& r : all.runs) {
      if (r.function_id == "doomed/on-failure") settles(r.id, RunStatus::kCompleted);
    }
    expected = engine->list_runs(RunQuery{.limit = 1000}).runs;
    ok(engine->shutdown());
  }
  ASSERT_EQ(expected.size(), 9u);  // seven sent, the invoked child and the failure handler

  const CliResult r = run_cairn({"runs", "list", dir.path().string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["runs"].size(), expected.size()) << j;
  std::set<std::string> statuses;
  for (size_t i = 0; i < expected.size(); ++i) {
    const RunInfo& want = expected[i];
    const json& got = j["runs"][i];
    SCOPED_TRACE("run " + std::to_string(want.id) + " of " + want.function_id);
    EXPECT_EQ(got["id"], want.id);
    EXPECT_EQ(got["function"], want.function_id);
    EXPECT_EQ(got["status"], run_status_name(want.status));
    EXPECT_EQ(got["steps"], want.steps);
    EXPECT_EQ(got["parent"].is_null() ? RunId{0} : got["parent"].get<RunId>(), want.parent);
    EXPECT_EQ(got["event"], want.event.name);
    statuses.insert(got["status"]);
    if (want.status == RunStatus::kFailed || want.status == RunStatus::kCancelled) {
      EXPECT_NE(got["error"].get<std::string>().find(want.error.substr(0, 20)), std::string::npos)
          << got;
    }
  }
  EXPECT_EQ(statuses,
            (std::set<std::string>{"completed", "failed", "cancelled", "sleeping", "waiting"}));
}

// `runs list` keeps the first 512 bytes of an error: the cut falls on a character's boundary, so
// the JSON holds a prefix of the error and no U+FFFD where a character was split.
TEST(RunsListLongError, AnErrorIsCutOnACharactersBoundary) {
  using namespace std::chrono_literals;
  TempDir dir;
  // After the engine's 15-byte prefix ("boom" failed: ), two bytes, then two-byte characters:
  // byte 512 falls inside one.
  std::string error = "xx";
  for (int i = 0; i < 400; ++i) error += "\u00e9";
  RunId id = 0;
  std::string recorded;
  {
    std::unique_ptr<Engine> engine = Engine::create(sample_engine_options(dir.path()));
    ASSERT_TRUE(engine
                    ->register_function({.id = "doomed", .triggers = {on_event("doomed/start")}},
                                        [&](Context& ctx, const Event&) -> Task<void> {
                                          co_await ctx.run("boom", [&]() -> int {
                                            throw NonRetriableError(error);
                                          });
                                        })
                    .ok());
    ASSERT_TRUE(engine->start().ok());
    Result<SendResult> sent = engine->send(Event{.name = "doomed/start", .data = "{}"});
    ASSERT_TRUE(sent.ok() && sent->runs.size() == 1);
    id = sent->runs.front();
    Result<RunInfo> info = engine->wait_run(id, 20s);
    ASSERT_TRUE(info.ok()) << info.status().to_string();
    ASSERT_EQ(info->status, RunStatus::kFailed);
    recorded = info->error;
    ASSERT_TRUE(engine->shutdown().ok());
  }
  ASSERT_TRUE(recorded.starts_with("\"boom\" failed: xx")) << recorded.substr(0, 40);
  ASSERT_GT(recorded.size(), 512u);
  ASSERT_EQ(static_cast<unsigned char>(recorded[512]) & 0xC0, 0x80) << "not inside a character";
  const CliResult r = run_cairn({"runs", "list", dir.path().string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["runs"].size(), 1u) << j;
  const std::string shown = j["runs"][0]["error"].get<std::string>();
  EXPECT_EQ(shown.find("\xef\xbf\xbd"), std::string::npos) << "a split character";
  EXPECT_EQ(shown.size(), 511u);  // the character byte 512 falls in is left out whole
  EXPECT_TRUE(recorded.starts_with(shown)) << shown;
  EXPECT_EQ(j["runs"][0]["error_bytes"], recorded.size());
}

// A ctx.send_event deferred for want of room (runs_active_max, here taken by a sleeping run and
// the sender) reads as such in the tools: `runs show` names the send, its attempt, why and when it
// is tried again; `runs list` has the run sleeping with that reason and no step attempt.
TEST(RunsShowDeferredSend, TheSendIsShownWithWhyAndWhenItIsTriedAgain) {
  using namespace std::chrono_literals;
  TempDir dir;
  RunId parent = 0;
  RunId blocker = 0;
  // Until `kind` is in the run's history.
  auto await_entry = [](Engine& engine, RunId run, HistoryEntry::Kind kind) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto h = engine.run_history(run);
      if (!h.ok()) return false;
      for (const HistoryEntry& e : *h) {
        if (e.kind == kind) return true;
      }
      std::this_thread::sleep_for(1ms);
    }
    return false;
  };
  auto open_engine = [&]() {
    EngineOptions o = sample_engine_options(dir.path());
    o.runs_active_max = 2;
    std::unique_ptr<Engine> engine = Engine::create(o);
    EXPECT_TRUE(engine
                    ->register_function({.id = "blocker", .triggers = {on_event("block")}},
                                        [](Context& ctx, const Event&) -> Task<void> {
                                          co_await ctx.sleep("long", 1h);
                                        })
                    .ok());
    EXPECT_TRUE(engine
                    ->register_function({.id = "parent",
                                         .triggers = {on_event("parent")},
                                         .backoff_base = 50ms,
                                         .backoff_max = 50ms},
                                        [](Context& ctx, const Event&) -> Task<std::string> {
                                          std::string id =
                                              co_await ctx.send_event("spawn", {.name = "child"});
                                          co_await ctx.sleep("after", 1h);
                                          co_return id;
                                        })
                    .ok());
    EXPECT_TRUE(
        engine
            ->register_function({.id = "child", .triggers = {on_event("child")}},
                                [](Context&, const Event&) -> Task<std::string> { co_return ""; })
            .ok());
    EXPECT_TRUE(engine->start().ok());
    return engine;
  };
  {
    std::unique_ptr<Engine> engine = open_engine();
    Result<SendResult> blocked = engine->send(Event{.name = "block", .data = "{}"});
    ASSERT_TRUE(blocked.ok() && blocked->runs.size() == 1);
    blocker = blocked->runs.front();
    Result<SendResult> sent = engine->send(Event{.name = "parent", .data = "{}"});
    ASSERT_TRUE(sent.ok() && sent->runs.size() == 1);
    parent = sent->runs.front();
    ASSERT_TRUE(await_entry(*engine, parent, HistoryEntry::Kind::kSendDeferred));
    ASSERT_TRUE(engine->shutdown().ok());
  }
  const CliResult text = run_cairn({"runs", "show", dir.path().string(), std::to_string(parent)});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("send #0 spawn attempt 1 found no room: "), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("runs_active_max (2)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("; tried again at "), std::string::npos) << text.out;
  const CliResult shown =
      run_cairn({"runs", "show", dir.path().string(), std::to_string(parent), "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  const json j = json::parse(shown.out);
  bool found = false;
  for (const json& e : j["entries"]) {
    if (e["kind"] != "send deferred") continue;
    found = true;
    EXPECT_EQ(e["step_id"], "spawn");
    EXPECT_EQ(e["attempt"], 1);
    EXPECT_FALSE(e["deadline"].is_null()) << e;
  }
  EXPECT_TRUE(found) << j;
  const CliResult listed = run_cairn({"runs", "list", dir.path().string(), "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const json runs = json::parse(listed.out)["runs"];
  ASSERT_EQ(runs.size(), 2u) << runs;
  const json& p = runs[0]["id"] == parent ? runs[0] : runs[1];
  EXPECT_EQ(p["id"], parent);
  EXPECT_EQ(p["status"], "sleeping");
  EXPECT_EQ(p["attempts"], 0);
  EXPECT_NE(p["error"].get<std::string>().find("runs_active_max (2)"), std::string::npos) << p;
  // Once the send goes through (the run then sleeps), the reason no longer stands.
  {
    std::unique_ptr<Engine> engine = open_engine();
    ASSERT_TRUE(engine->cancel(blocker, "make room").ok());
    ASSERT_TRUE(await_entry(*engine, parent, HistoryEntry::Kind::kSleepStarted));
    ASSERT_TRUE(engine->shutdown().ok());
  }
  const CliResult after = run_cairn({"runs", "list", dir.path().string(), "--json"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  bool seen = false;
  const json listed_after = json::parse(after.out);
  for (const json& r : listed_after["runs"]) {
    if (r["id"] != parent) continue;
    seen = true;
    EXPECT_EQ(r["status"], "sleeping");
    EXPECT_TRUE(r["error"].is_null()) << r;
  }
  EXPECT_TRUE(seen) << after.out;
}

}  // namespace
}  // namespace cairn::testing
