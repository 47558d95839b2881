// The write commands (runs replay, runs cancel, events send) on a live engine: this test process
// runs a real Engine that holds DIR and serves a cairn::Dashboard (which advertises its admin
// endpoint in DIR/admin.json), and the `cairn` binary, a separate process, reaches that engine
// over the endpoint instead of failing with "in use". Also: a token the endpoint requires, an
// engine that advertises nothing (the usual "in use" error), and an admin.json left behind by a
// process that is gone (ignored: the directory is used directly).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cairn/dashboard.h"
#include "cairn/engine.h"
#include "cairn_cli.h"
#include "support/temp_dir.h"
#include "support/test_engine_options.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

// An application's engine in `dir`: "charge" (order/created) fails at its step while
// `payment_down` is set, "approve" (order/placed) waits for order/approved, "nap" (nap/start)
// sleeps an hour.
class LiveEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = Engine::create(test_engine_options(dir_.path(), nullptr));
    ASSERT_TRUE(engine_
                    ->register_function(
                        {.id = "charge", .triggers = {on_event("order/created")}, .retries = 0},
                        [this](Context& ctx, const Event&) -> Task<std::string> {
                          co_return co_await ctx.run("charge", [this] {
                            if (payment_down.load()) throw std::runtime_error("payment API down");
                            return std::string("charged");
                          });
                        })
                    .ok());
    ASSERT_TRUE(
        engine_
            ->register_function({.id = "approve", .triggers = {on_event("order/placed")}},
                                [](Context& ctx, const Event&) -> Task<std::string> {
                                  std::optional<Event> approval = co_await ctx.wait_for_event(
                                      "approval", {.event = "order/approved", .timeout = 1h});
                                  co_return std::string(approval ? "approved" : "late");
                                })
            .ok());
    ASSERT_TRUE(engine_
                    ->register_function({.id = "nap", .triggers = {on_event("nap/start")}},
                                        [](Context& ctx, const Event&) -> Task<void> {
                                          co_await ctx.sleep("nap", 1h);
                                        })
                    .ok());
    ASSERT_TRUE(engine_->start().ok());
  }

  void TearDown() override {
    if (dashboard_) dashboard_->stop();
    if (engine_) {
      EXPECT_TRUE(engine_->shutdown().ok());
    }
  }

  void serve(DashboardOptions options = {}) {
    Result<std::unique_ptr<Dashboard>> d = Dashboard::start(*engine_, std::move(options));
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    dashboard_ = std::move(*d);
    ASSERT_TRUE(std::filesystem::exists(dir_ / "admin.json"));
  }

  // Sends `name` and returns the one run it started.
  RunId start_run(const std::string& name) {
    Result<SendResult> sent = engine_->send({.name = name, .data = "{}"});
    EXPECT_TRUE(sent.ok()) << sent.status().to_string();
    if (!sent.ok() || sent->runs.size() != 1) return 0;
    return sent->runs[0];
  }

  RunId failed_run() {
    const RunId id = start_run("order/created");
    Result<RunInfo> r = engine_->wait_run(id, 60s);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r.ok() ? r->status : RunStatus::kQueued, RunStatus::kFailed);
    return id;
  }

  // Polls `cond` until it holds (the engine runs on its own threads); false after a minute.
  static bool eventually(const std::function<bool()>& cond) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (cond()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  bool eventually_status(RunId id, RunStatus status) {
    return eventually([&] {
      Result<RunInfo> r = engine_->get_run(id);
      return r.ok() && r->status == status;
    });
  }

  std::string dir() const { return dir_.path().string(); }

  TempDir dir_;
  std::atomic<bool> payment_down{true};
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Dashboard> dashboard_;
};

TEST_F(LiveEngineTest, RunsReplayGoesToTheRunningEngineWhichRunsTheReplayNow) {
  serve();
  const RunId failed = failed_run();
  payment_down.store(false);
  const CliResult r = run_cairn({"runs", "replay", dir(), std::to_string(failed), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("queued"), 1);
  EXPECT_EQ(j.at("from"), "failed step");
  EXPECT_EQ(j.at("runs").at(0).at("function"), "charge");
  const RunId replay = j.at("runs").at(0).at("replay").get<RunId>();
  Result<RunInfo> done = engine_->wait_run(replay, 60s);
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  EXPECT_EQ(done->status, RunStatus::kCompleted) << done->error;
  EXPECT_EQ(engine_->get_run(failed)->status, RunStatus::kFailed);
}

TEST_F(LiveEngineTest, RunsReplayFailedListsTheRunningEnginesFailedRunsAndReplaysEach) {
  serve();
  const RunId a = failed_run();
  const RunId b = failed_run();
  const RunId napping = start_run("nap/start");  // not failed: not chosen
  payment_down.store(false);
  const CliResult r = run_cairn({"runs", "replay", dir(), "--failed", "--function", "charge"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("run " + std::to_string(a) + " (charge) -> run "), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("run " + std::to_string(b) + " (charge) -> run "), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("run " + std::to_string(napping) + " "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 of 2 queued in the running engine"), std::string::npos) << r.out;
  // Both replays ran in the live engine and completed.
  EXPECT_TRUE(eventually([&] {
    return engine_->list_runs({.function_id = "charge", .status = RunStatus::kCompleted})
               .runs.size() == 2;
  }));
}

TEST_F(LiveEngineTest, RunsReplayFailedPagesThroughMoreFailedRunsThanOnePageHolds) {
  serve();
  // One more than the pages the tool asks for (500 runs, the dashboard's largest page).
  constexpr size_t kRuns = 501;
  std::vector<Event> events(kRuns, Event{.name = "order/created", .data = "{}"});
  Result<std::vector<SendResult>> sent = engine_->send(std::span<const Event>(events));
  ASSERT_TRUE(sent.ok()) << sent.status().to_string();
  for (const SendResult& s : *sent) {
    ASSERT_EQ(s.runs.size(), 1u);
    Result<RunInfo> r = engine_->wait_run(s.runs[0], 60s);
    ASSERT_TRUE(r.ok() && r->status == RunStatus::kFailed);
  }
  const CliResult r = run_cairn({"runs", "replay", dir(), "--failed", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out.substr(0, 2000);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("queued"), kRuns);
  ASSERT_EQ(j.at("runs").size(), kRuns);
  // Oldest first, each once.
  for (size_t i = 0; i < kRuns; ++i) {
    EXPECT_EQ(j.at("runs").at(i).at("run").get<RunId>(), (*sent)[i].runs[0]) << i;
  }
}

TEST_F(LiveEngineTest, RunsReplayNamesTheRunTheEngineRefuses) {
  serve();
  const RunId failed = failed_run();
  const CliResult r = run_cairn({"runs", "replay", dir(), std::to_string(failed), "999999"});
  EXPECT_EQ(r.exit_code, 3) << r.err << r.out;
  EXPECT_NE(r.out.find("run " + std::to_string(failed) + " (charge) -> run "), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("run 999999 not replayed: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 of 2 queued"), std::string::npos) << r.out;
}

TEST_F(LiveEngineTest, RunsCancelByIdIsAllOrNothingAndCancelsInTheRunningEngine) {
  serve();
  const RunId napping = start_run("nap/start");
  ASSERT_TRUE(eventually_status(napping, RunStatus::kSleeping));
  const RunId failed = failed_run();

  const CliResult refused =
      run_cairn({"runs", "cancel", dir(), std::to_string(napping), std::to_string(failed)});
  EXPECT_EQ(refused.exit_code, 3) << refused.err << refused.out;
  EXPECT_NE(refused.err.find("run " + std::to_string(failed) + " already failed"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(engine_->get_run(napping)->status, RunStatus::kSleeping) << "all or nothing";

  const CliResult r =
      run_cairn({"runs", "cancel", dir(), std::to_string(napping), "--reason", "not needed"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("cancelled run " + std::to_string(napping) + " (nap, was sleeping)"),
            std::string::npos)
      << r.out;
  Result<RunInfo> info = engine_->get_run(napping);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->status, RunStatus::kCancelled);
  EXPECT_NE(info->error.find("not needed"), std::string::npos) << info->error;
}

TEST_F(LiveEngineTest, RunsCancelFunctionCancelsItsUnfinishedRuns) {
  serve();
  const RunId one = start_run("nap/start");
  const RunId two = start_run("nap/start");
  const RunId waiting = start_run("order/placed");
  ASSERT_TRUE(eventually_status(waiting, RunStatus::kWaiting));
  const CliResult r = run_cairn({"runs", "cancel", dir(), "--function", "nap", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.at("cancelled").size(), 2u) << r.out;
  EXPECT_EQ(j.at("cancelled").at(0).at("id").get<RunId>(), one);
  EXPECT_EQ(j.at("cancelled").at(1).at("id").get<RunId>(), two);
  EXPECT_EQ(engine_->get_run(one)->status, RunStatus::kCancelled);
  EXPECT_EQ(engine_->get_run(two)->status, RunStatus::kCancelled);
  EXPECT_EQ(engine_->get_run(waiting)->status, RunStatus::kWaiting);
}

TEST_F(LiveEngineTest, EventsSendStartsTheRunningEnginesRunsAndEndsItsWaits) {
  serve();
  const RunId waiting = start_run("order/placed");
  ASSERT_TRUE(eventually_status(waiting, RunStatus::kWaiting));

  const CliResult started =
      run_cairn({"events", "send", dir(), "--name", "nap/start", "--data", "{}", "--json"});
  ASSERT_EQ(started.exit_code, 0) << started.err << started.out;
  const nlohmann::json s = nlohmann::json::parse(started.out);
  ASSERT_EQ(s.at("runs").size(), 1u) << started.out;
  EXPECT_EQ(engine_->get_run(s.at("runs").at(0).get<RunId>())->function_id, "nap");

  const CliResult approved =
      run_cairn({"events", "send", dir(), "--name", "order/approved", "--data", R"({"ok":true})"});
  ASSERT_EQ(approved.exit_code, 0) << approved.err << approved.out;
  EXPECT_NE(approved.out.find("accepted by the running engine"), std::string::npos) << approved.out;
  // Compared before and after the send, so not claimed as this event's doing alone.
  EXPECT_NE(
      approved.out.find("waiting runs that went on meanwhile: run " + std::to_string(waiting)),
      std::string::npos)
      << approved.out;
  EXPECT_NE(approved.out.find("a timeout or another event"), std::string::npos) << approved.out;
  EXPECT_EQ(s.at("waits_ended_exact"), false) << started.out;
  Result<RunInfo> done = engine_->wait_run(waiting, 60s);
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  EXPECT_EQ(done->status, RunStatus::kCompleted);
}

TEST_F(LiveEngineTest, AnEndpointThatRequiresATokenGetsItFromTheOptionOrTheEnvironment) {
  serve({.token = "s3cret"});
  std::ifstream admin(dir_ / "admin.json");
  const nlohmann::json advertised = nlohmann::json::parse(admin);
  EXPECT_EQ(advertised.at("token_required"), true);

  const CliResult missing = run_cairn({"events", "send", dir(), "--name", "x"});
  EXPECT_EQ(missing.exit_code, 2) << missing.err << missing.out;
  EXPECT_NE(missing.err.find("--token"), std::string::npos) << missing.err;

  const CliResult wrong = run_cairn({"events", "send", dir(), "--name", "x", "--token", "nope"});
  EXPECT_EQ(wrong.exit_code, 4) << wrong.err << wrong.out;
  EXPECT_NE(wrong.err.find("401"), std::string::npos) << wrong.err;

  const CliResult given =
      run_cairn({"events", "send", dir(), "--name", "x", "--token", "s3cret", "--json"});
  EXPECT_EQ(given.exit_code, 0) << given.err << given.out;

  ASSERT_EQ(::setenv("CAIRN_TOKEN", "s3cret", 1), 0);
  const CliResult from_env = run_cairn({"events", "send", dir(), "--name", "x"});
  ::unsetenv("CAIRN_TOKEN");
  EXPECT_EQ(from_env.exit_code, 0) << from_env.err << from_env.out;
}

TEST_F(LiveEngineTest, AnEngineThatAdvertisesNoEndpointIsInUse) {
  // No Dashboard: nothing tells the tool where the engine answers.
  const CliResult r = run_cairn({"events", "send", dir(), "--name", "x"});
  EXPECT_EQ(r.exit_code, 4) << r.err << r.out;
  EXPECT_NE(r.err.find("in use by a running engine"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("admin.json"), std::string::npos) << r.err;
}

// DIR/admin.json names a live process, but the endpoint it names is answered by another engine's
// dashboard (it took the port after DIR's went away): nothing may be sent there, or DIR's event
// would be recorded in the other engine's log.
TEST_F(LiveEngineTest, AnEndpointAnsweredByAnotherProcessGetsNothing) {
  serve();
  TempDir other;
  {
    auto engine = Engine::create(test_engine_options(other.path(), nullptr));
    ASSERT_TRUE(engine->start().ok());
    ASSERT_TRUE(engine->shutdown().ok());
  }
  // Our parent is alive and is not the process that serves dashboard_.
  std::ofstream(other.path() / "admin.json") << R"({"url":")" << dashboard_->url() << R"(","pid":)"
                                             << ::getppid() << R"(,"token_required":false})";
  const uint64_t events_before = engine_->stats().events;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"events", "send", other.path().string(), "--name", "x"},
        std::vector<std::string>{"runs", "cancel", other.path().string(), "1"},
        std::vector<std::string>{"runs", "replay", other.path().string(), "1"}}) {
    const CliResult r = run_cairn(args);
    EXPECT_EQ(r.exit_code, 4) << args[1] << ": " << r.err << r.out;
    EXPECT_NE(r.err.find("not this directory's engine"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("pid " + std::to_string(::getpid())), std::string::npos) << r.err;
  }
  EXPECT_EQ(engine_->stats().events, events_before);
}

TEST(LiveEngineCommands, AnEngineWithNoFunctionsSaysTheRunsWaitForTheApplication) {
  TempDir dir;
  {
    // The application ran once and left a run of "nap" unfinished: GET /api/functions then lists
    // "nap" (with "registered": false) though no code for it is here.
    auto app = Engine::create(test_engine_options(dir.path(), nullptr));
    ASSERT_TRUE(app->register_function({.id = "nap", .triggers = {on_event("nap/start")}},
                                       [](Context& ctx, const Event&) -> Task<void> {
                                         co_await ctx.sleep("nap", 1h);
                                       })
                    .ok());
    ASSERT_TRUE(app->start().ok());
    Result<SendResult> sent = app->send({.name = "nap/start", .data = "{}"});
    ASSERT_TRUE(sent.ok() && sent->runs.size() == 1);
    ASSERT_TRUE(app->shutdown().ok());
  }
  // What `cairn serve` runs: an engine with no function registered, serving its dashboard.
  auto engine = Engine::create(test_engine_options(dir.path(), nullptr));
  ASSERT_TRUE(engine->start().ok());
  Result<std::unique_ptr<Dashboard>> dashboard = Dashboard::start(*engine, {});
  ASSERT_TRUE(dashboard.ok()) << dashboard.status().to_string();
  const CliResult r = run_cairn({"events", "send", dir.path().string(), "--name", "order/created"});
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("accepted by the running engine"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("registers no function"), std::string::npos) << r.out;
  (*dashboard)->stop();
  EXPECT_TRUE(engine->shutdown().ok());
}

TEST(LiveEngineCommands, AnAdminFileLeftByAProcessThatIsGoneIsIgnored) {
  TempDir dir;
  {
    auto engine = Engine::create(test_engine_options(dir.path(), nullptr));
    ASSERT_TRUE(engine->start().ok());
    ASSERT_TRUE(engine->shutdown().ok());
  }
  // A pid above any pid_max (2^22): no process has it.
  std::ofstream(dir / "admin.json")
      << R"({"url":"http://127.0.0.1:9/","pid":2147483000,"token_required":false})";
  const CliResult r = run_cairn({"events", "send", dir.path().string(), "--name", "x"});
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("accepted\n"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace cairn::testing
