// `cairn runs cancel`: a waiting and a sleeping run of a stopped engine are cancelled with the
// reason given (the log, `runs show` and the engine itself then say so); ids that are unknown or
// already finished cancel nothing (exit 3); --function picks only that function's unfinished
// runs; a running engine's directory is refused (exit 4).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "cairn/engine.h"
#include "cairn_cli.h"
#include "engine_logs.h"
#include "support/temp_dir.h"

namespace cairn::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct CancelRuns {
  SampleRuns sample;   // completed "greet", failed "charge", waiting "approve"
  RunId waiting2 = 0;  // a second waiting "approve" run
  RunId sleeping = 0;  // "nap": sleeps for an hour
};

void register_cancel_functions(Engine& engine) {
  register_sample_functions(engine);
  const Status st = engine.register_function(
      {.id = "nap", .triggers = {on_event("nap/start")}},
      [](Context& ctx, const Event&) -> Task<void> { co_await ctx.sleep("nap", 1h); });
  EXPECT_TRUE(st.ok()) << st.to_string();
}

RunId start_and_settle(Engine& engine, const std::string& name, const std::string& data,
                       RunStatus want) {
  Result<SendResult> r = engine.send(Event{.name = name, .data = data});
  if (!r.ok() || r->runs.size() != 1) {
    ADD_FAILURE() << name << ": " << (r.ok() ? "no run" : r.status().to_string());
    return 0;
  }
  const RunId id = r->runs.front();
  const auto end = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < end) {
    Result<RunInfo> info = engine.get_run(id);
    if (info.ok() && info->status == want) return id;
    std::this_thread::sleep_for(1ms);
  }
  ADD_FAILURE() << "run " << id << " never became " << run_status_name(want);
  return id;
}

// The sample directory plus a second waiting "approve" run and a sleeping "nap" run.
CancelRuns write_cancel_dir(const std::filesystem::path& dir) {
  CancelRuns runs;
  runs.sample = write_sample_engine_dir(dir);
  std::unique_ptr<Engine> engine = Engine::create(sample_engine_options(dir));
  register_cancel_functions(*engine);
  Status st = engine->start();
  if (!st.ok()) {
    ADD_FAILURE() << st.to_string();
    return runs;
  }
  runs.waiting2 =
      start_and_settle(*engine, "order/placed", R"({"order_id":"B-9"})", RunStatus::kWaiting);
  runs.sleeping = start_and_settle(*engine, "nap/start", "{}", RunStatus::kSleeping);
  st = engine->shutdown();
  EXPECT_TRUE(st.ok()) << st.to_string();
  return runs;
}

json show_run(const std::filesystem::path& dir, RunId id) {
  const CliResult r = run_cairn({"runs", "show", dir.string(), std::to_string(id), "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out, nullptr, false)["run"];
}

std::string export_text(const std::filesystem::path& dir) {
  const CliResult r = run_cairn({"log", "export", (dir / "log").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

TEST(RunsCancelCommand, WaitingAndSleepingRunsAreCancelledWithTheReason) {
  TempDir dir;
  const CancelRuns runs = write_cancel_dir(dir.path());
  ASSERT_NE(runs.sleeping, 0u);
  const RunId waiting = runs.sample.waiting;
  EXPECT_EQ(show_run(dir.path(), waiting)["status"], "waiting");
  EXPECT_EQ(show_run(dir.path(), runs.sleeping)["status"], "sleeping");

  const CliResult r =
      run_cairn({"runs", "cancel", dir.path().string(), std::to_string(waiting),
                 std::to_string(runs.sleeping), "--reason", "order withdrawn", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["cancelled"].size(), 2u) << j;
  EXPECT_EQ(j["cancelled"][0]["id"], waiting);
  EXPECT_EQ(j["cancelled"][0]["function"], "approve");
  EXPECT_EQ(j["cancelled"][0]["was"], "waiting");
  EXPECT_EQ(j["cancelled"][1]["id"], runs.sleeping);
  EXPECT_EQ(j["cancelled"][1]["was"], "sleeping");
  EXPECT_EQ(j["reason"], "order withdrawn");

  // The log says so.
  for (RunId id : {waiting, runs.sleeping}) {
    const json run = show_run(dir.path(), id);
    EXPECT_EQ(run["status"], "cancelled") << run;
    EXPECT_EQ(run["error"], "order withdrawn") << run;
  }
  // The other runs are as they were.
  EXPECT_EQ(show_run(dir.path(), runs.waiting2)["status"], "waiting");
  EXPECT_EQ(show_run(dir.path(), runs.sample.completed)["status"], "completed");

  // And so does the application's engine, with its functions registered, when it starts again.
  std::unique_ptr<Engine> engine = Engine::create(sample_engine_options(dir.path()));
  register_cancel_functions(*engine);
  Status st = engine->start();
  ASSERT_TRUE(st.ok()) << st.to_string();
  for (RunId id : {waiting, runs.sleeping}) {
    Result<RunInfo> info = engine->get_run(id);
    ASSERT_TRUE(info.ok()) << info.status().to_string();
    EXPECT_EQ(info->status, RunStatus::kCancelled);
    EXPECT_EQ(info->error, "order withdrawn");
  }
  Result<RunInfo> other = engine->get_run(runs.waiting2);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->status, RunStatus::kWaiting);
  st = engine->shutdown();
  EXPECT_TRUE(st.ok()) << st.to_string();
}

TEST(RunsCancelCommand, FinishedOrUnknownIdExitsThreeAndCancelsNothing) {
  TempDir dir;
  const CancelRuns runs = write_cancel_dir(dir.path());
  ASSERT_NE(runs.sleeping, 0u);
  const std::string before = export_text(dir.path());

  CliResult r =
      run_cairn({"runs", "cancel", dir.path().string(), std::to_string(runs.sample.waiting),
                 std::to_string(runs.sample.completed)});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("run " + std::to_string(runs.sample.completed) + " already completed"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Nothing was cancelled"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");

  r = run_cairn({"runs", "cancel", dir.path().string(), std::to_string(runs.sleeping), "9999"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("no run 9999"), std::string::npos) << r.err;

  r = run_cairn({"runs", "cancel", dir.path().string(), std::to_string(runs.sample.failed)});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("already failed"), std::string::npos) << r.err;

  // With --json the refusal is a document too: a script reads one shape.
  r = run_cairn({"runs", "cancel", dir.path().string(), std::to_string(runs.sample.failed),
                 "--json", "--reason", "dup"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["cancelled"], nlohmann::json::array());
  EXPECT_EQ(doc["reason"], "dup");
  EXPECT_NE(doc["error"].get<std::string>().find("already failed"), std::string::npos) << r.out;
  EXPECT_NE(doc["error"].get<std::string>().find("Nothing was cancelled"), std::string::npos);

  // Not a byte of the log changed, and the unfinished runs are as they were.
  EXPECT_EQ(export_text(dir.path()), before);
  EXPECT_EQ(show_run(dir.path(), runs.sample.waiting)["status"], "waiting");
  EXPECT_EQ(show_run(dir.path(), runs.sleeping)["status"], "sleeping");
}

TEST(RunsCancelCommand, FunctionSelectsOnlyItsUnfinishedRuns) {
  TempDir dir;
  const CancelRuns runs = write_cancel_dir(dir.path());
  ASSERT_NE(runs.sleeping, 0u);

  // Created after now: none of them.
  CliResult r = run_cairn(
      {"runs", "cancel", dir.path().string(), "--function", "approve", "--since", "2999-01-01"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("nothing to cancel"), std::string::npos) << r.out;
  r = run_cairn({"runs", "cancel", dir.path().string(), "--function", "nobody"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("nothing to cancel"), std::string::npos) << r.out;

  r = run_cairn({"runs", "cancel", dir.path().string(), "--function", "approve", "--since", "1h"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("cancelled run " + std::to_string(runs.sample.waiting) +
                       " (approve, was waiting)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("cancelled run " + std::to_string(runs.waiting2) + " (approve"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("2 runs cancelled"), std::string::npos) << r.out;

  EXPECT_EQ(show_run(dir.path(), runs.sample.waiting)["status"], "cancelled");
  EXPECT_EQ(show_run(dir.path(), runs.waiting2)["status"], "cancelled");
  EXPECT_EQ(show_run(dir.path(), runs.sleeping)["status"], "sleeping");
  EXPECT_EQ(show_run(dir.path(), runs.sample.completed)["status"], "completed");
  EXPECT_EQ(show_run(dir.path(), runs.sample.failed)["status"], "failed");

  // Again: they are finished now, so nothing is left to cancel.
  r = run_cairn({"runs", "cancel", dir.path().string(), "--function", "approve", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["cancelled"].size(), 0u) << r.out;
}

TEST(RunsCancelCommand, HelpNamesItsOptionsAndExitCodes) {
  const CliResult r = run_cairn({"runs", "cancel", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* w :
       {"RUN_ID", "--function", "--since", "--reason", "--json", "3 an id", "4 the engine"}) {
    EXPECT_NE(r.out.find(w), std::string::npos) << w << " in " << r.out;
  }
  EXPECT_NE(run_cairn({"runs", "--help"}).out.find("cancel"), std::string::npos);
}

TEST(RunsCancelCommand, BadArgumentsExitTwo) {
  TempDir dir;
  const std::string d = dir.path().string();
  CliResult r = run_cairn({"runs", "cancel", d});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("RUN_ID... or --function"), std::string::npos) << r.err;
  EXPECT_EQ(run_cairn({"runs", "cancel", d, "3", "--function", "approve"}).exit_code, 2);
  EXPECT_EQ(run_cairn({"runs", "cancel", d, "3", "--since", "1h"}).exit_code, 2);
  EXPECT_EQ(run_cairn({"runs", "cancel", d, "-3"}).exit_code, 2);
  r = run_cairn({"runs", "cancel", d, "3", "--reason", ""});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--reason must not be empty"), std::string::npos) << r.err;
  // Not an engine's directory: nothing is created in it.
  r = run_cairn({"runs", "cancel", (dir.path() / "none").string(), "3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no such directory"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "none"));
}

TEST(RunsCancelCommand, DirectoryOfARunningEngineExitsFour) {
  TempDir dir;
  const CancelRuns runs = write_cancel_dir(dir.path());
  ASSERT_NE(runs.sleeping, 0u);
  std::unique_ptr<Engine> engine = Engine::create(sample_engine_options(dir.path()));
  register_cancel_functions(*engine);
  Status st = engine->start();
  ASSERT_TRUE(st.ok()) << st.to_string();
  const CliResult r =
      run_cairn({"runs", "cancel", dir.path().string(), std::to_string(runs.sleeping)});
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_NE(r.err.find("in use by a running engine"), std::string::npos) << r.err;
  Result<RunInfo> info = engine->get_run(runs.sleeping);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->status, RunStatus::kSleeping);
  st = engine->shutdown();
  EXPECT_TRUE(st.ok()) << st.to_string();
}

}  // namespace
}  // namespace cairn::testing
