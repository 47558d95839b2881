// `cairn runs replay`: failed runs replayed from their failed step (or from the start) on a
// stopped engine's directory; the new runs are queued and the application's engine runs them
// when it starts; what cannot be replayed is named with the reason and a non-zero exit.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cairn/engine.h"
#include "cairn/errors.h"
#include "cairn_cli.h"
#include "engine_logs.h"
#include "support/temp_dir.h"

namespace cairn::testing {
namespace {

TEST(RunsReplayCommand, AFailedRunIsQueuedFromItsFailedStepAndRunsWhenTheEngineStarts) {
  TempDir dir;
  const SampleRuns runs = write_sample_engine_dir(dir.path());
  // The same id three times is one replay, not three runs that each charge again.
  const std::string id = std::to_string(runs.failed);
  const CliResult r = run_cairn({"runs", "replay", dir.path().string(), id, id, id, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.at("queued"), 1);
  ASSERT_EQ(j.at("runs").size(), 1u) << r.out;
  EXPECT_EQ(j.at("from"), "failed step");
  const RunId replay = j.at("runs").at(0).at("replay").get<RunId>();
  EXPECT_EQ(j.at("runs").at(0).at("function"), "charge");

  // The application's engine runs it (the step still fails: the API is still down).
  auto engine = Engine::create(sample_engine_options(dir.path()));
  register_sample_functions(*engine);
  ASSERT_TRUE(engine->start().ok());
  auto done = engine->wait_run(replay, std::chrono::seconds(30));
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  EXPECT_EQ(done->status, RunStatus::kFailed);
  EXPECT_EQ(done->function_id, "charge");
  auto history = engine->run_history(replay);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->front().value, "replay of run " + std::to_string(runs.failed));
  ASSERT_TRUE(engine->shutdown().ok());
}

// `runs show` of a replay says which run it replays, and shows the results it was given as
// copied, not as "attempt 0 completed in 0 µs" (docs/tools.md said so; the text did not).
TEST(RunsReplayCommand, RunsShowNamesTheOriginalAndTheCopiedResults) {
  TempDir dir;
  const auto register_two = [](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "two", .triggers = {on_event("go")}, .retries = 0},
                                    [](Context& ctx, const Event&) -> Task<int> {
                                      const int a = co_await ctx.run("a", [] { return 7; });
                                      co_return a + co_await ctx.run("b", []() -> int {
                                        throw NonRetriableError("b is down");
                                      });
                                    })
                    .ok());
  };
  RunId failed = 0;
  {
    auto engine = Engine::create(sample_engine_options(dir.path()));
    register_two(*engine);
    ASSERT_TRUE(engine->start().ok());
    Result<SendResult> sent = engine->send({.name = "go", .data = "{}"});
    ASSERT_TRUE(sent.ok() && sent->runs.size() == 1);
    failed = sent->runs[0];
    ASSERT_EQ(engine->wait_run(failed, std::chrono::seconds(30))->status, RunStatus::kFailed);
    ASSERT_TRUE(engine->shutdown().ok());
  }
  const CliResult r =
      run_cairn({"runs", "replay", dir.path().string(), std::to_string(failed), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const RunId replay = nlohmann::json::parse(r.out).at("runs").at(0).at("replay").get<RunId>();
  const CliResult shown = run_cairn({"runs", "show", dir.path().string(), std::to_string(replay)});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("(replay of run " + std::to_string(failed) + ")"), std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find("step #0 a copied: 7"), std::string::npos) << shown.out;
  EXPECT_EQ(shown.out.find("attempt 0"), std::string::npos) << shown.out;
}

TEST(RunsReplayCommand, FailedSelectsTheFailedRunsAndACompletedRunNeedsFromStart) {
  TempDir dir;
  const SampleRuns runs = write_sample_engine_dir(dir.path());
  const CliResult all = run_cairn({"runs", "replay", dir.path().string(), "--failed"});
  ASSERT_EQ(all.exit_code, 0) << all.err << all.out;
  EXPECT_NE(all.out.find("run " + std::to_string(runs.failed) + " (charge) -> run"),
            std::string::npos)
      << all.out;
  EXPECT_NE(all.out.find("1 of 1 queued"), std::string::npos) << all.out;

  const CliResult completed =
      run_cairn({"runs", "replay", dir.path().string(), std::to_string(runs.completed)});
  EXPECT_EQ(completed.exit_code, 3) << completed.out << completed.err;
  EXPECT_NE(completed.out.find("did not fail"), std::string::npos) << completed.out;
  const CliResult again = run_cairn(
      {"runs", "replay", dir.path().string(), std::to_string(runs.completed), "--from-start"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("from the start"), std::string::npos) << again.out;

  const CliResult nothing = run_cairn({"runs", "replay", dir.path().string()});
  EXPECT_EQ(nothing.exit_code, 2) << nothing.err;
}

}  // namespace
}  // namespace cairn::testing
