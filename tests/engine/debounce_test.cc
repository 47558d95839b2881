// Debounce: a run starts only once its key has been quiet for the period, with the last event;
// the runs it replaced end skipped with the reason; the timeout bounds the wait from the first
// event of a sequence; keys are independent; the waiting run and the skips survive a restart
// (with and without a snapshot), and a period that ended while stopped starts the run at start.
#include <mutex>
#include <vector>

#include "engine_fixture.h"

namespace cairn {
namespace {

using testing::EngineTest;
using namespace std::chrono_literals;

class DebounceTest : public EngineTest {
 protected:
  DebounceTest() { options_.workers = 2; }

  void setup(Engine& e, Debounce d) {
    ASSERT_TRUE(e.register_function(
                     {.id = "debounced", .triggers = {on_event("edit")}, .debounce = std::move(d)},
                     [this](Context& ctx, const Event& event) -> Task<void> {
                       auto body = [this, &event] {
                         std::lock_guard lock(mu_);
                         ran_.push_back(event.data);
                       };
                       co_await ctx.run("save", body);
                     })
                    .ok());
  }
  void start_with(Debounce d) {
    start([this, d](Engine& e) { setup(e, d); });
  }
  RunId edit(const std::string& key, int n) {
    return send_one(
        {.name = "edit", .data = R"({"k":")" + key + R"(","n":)" + std::to_string(n) + "}"});
  }
  std::vector<std::string> ran() {
    std::lock_guard lock(mu_);
    return ran_;
  }

  std::mutex mu_;
  std::vector<std::string> ran_;  // the event data of every step body run
};

TEST_F(DebounceTest, OnlyTheLastRunOfAQuietKeyStartsAndTheOthersAreSkipped) {
  start_with({.period = 10s, .key = "data.k"});
  const RunId a1 = edit("a", 1);
  clock_->advance(4s);
  const RunId a2 = edit("a", 2);
  clock_->advance(4s);
  const RunId a3 = edit("a", 3);
  const RunId b1 = edit("b", 1);
  EXPECT_EQ(wait(a1).status, RunStatus::kSkipped);
  const RunInfo replaced = wait(a2);
  EXPECT_EQ(replaced.status, RunStatus::kSkipped);
  EXPECT_EQ(replaced.error,
            "debounce: replaced by run " + std::to_string(a3) + " (a newer event of key \"a\")");
  clock_->advance(9999ms);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(status_of(a3), RunStatus::kQueued) << "started before its key was quiet";
  EXPECT_TRUE(ran().empty());
  clock_->advance(1ms);
  EXPECT_EQ(wait(a3).status, RunStatus::kCompleted);
  EXPECT_EQ(wait(b1).status, RunStatus::kCompleted);
  const std::vector<std::string> bodies = ran();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_NE(std::find(bodies.begin(), bodies.end(), R"({"k":"a","n":3})"), bodies.end())
      << "the run did not get the last event";
  // A later event of the key begins a new sequence.
  const RunId a4 = edit("a", 4);
  clock_->advance(10s);
  EXPECT_EQ(wait(a4).status, RunStatus::kCompleted);
}

TEST_F(DebounceTest, TheTimeoutStartsTheNewestRunWhileEventsKeepComing) {
  start_with({.period = 10s, .timeout = 25s});
  RunId newest = 0;
  for (int i = 0; i <= 4; ++i) {  // at 0, 5, 10, 15 and 20 s: never quiet for 10 s
    newest = edit("", i);
    clock_->advance(5s);
  }
  // Now 25 s after the first event: the newest run (from 20 s) starts, with its event.
  EXPECT_EQ(wait(newest).status, RunStatus::kCompleted);
  EXPECT_EQ(ran(), std::vector<std::string>{R"({"k":"","n":4})"});
}

class DebounceRestartTest : public DebounceTest, public ::testing::WithParamInterface<bool> {
 protected:
  DebounceRestartTest() { use_snapshots(GetParam()); }
};

TEST_P(DebounceRestartTest, TheWaitingRunAndItsDeadlineSurviveARestart) {
  const Debounce d{.period = 10s, .key = "data.k"};
  start_with(d);
  const RunId first = edit("a", 1);
  clock_->advance(3s);
  const RunId second = edit("a", 2);
  EXPECT_EQ(wait(first).status, RunStatus::kSkipped);
  stop();
  start_with(d);
  clock_->advance(6s);  // 9 s after the second event
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(status_of(second), RunStatus::kQueued);
  const RunId third = edit("a", 3);  // the waiting run rebuilt by the restart is replaced
  EXPECT_EQ(wait(second).status, RunStatus::kSkipped);
  stop();
  clock_->advance(1min);  // its quiet period ends while the engine is stopped
  start_with(d);
  EXPECT_EQ(wait(third).status, RunStatus::kCompleted);
  EXPECT_EQ(ran(), std::vector<std::string>{R"({"k":"a","n":3})"});
}

INSTANTIATE_TEST_SUITE_P(Snapshots, DebounceRestartTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "snapshot" : "replay"; });

TEST_F(DebounceTest, ACancelledWaitingRunLeavesItsKeyFree) {
  start_with({.period = 10s});
  const RunId first = edit("", 1);
  ASSERT_TRUE(engine_->cancel(first, "not needed").ok());
  EXPECT_EQ(wait(first).status, RunStatus::kCancelled);
  const RunId second = edit("", 2);
  clock_->advance(10s);
  EXPECT_EQ(wait(second).status, RunStatus::kCompleted);
}

TEST_F(DebounceTest, BadDebounceOptionsAreRefused) {
  auto engine = Engine::create(options_);
  auto body = [](Context&, const Event&) -> Task<void> { co_return; };
  const Status zero = engine->register_function({.id = "a", .debounce = Debounce{}}, body);
  EXPECT_EQ(zero.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(zero.message().find("debounce period 0 ms is out of range"), std::string::npos)
      << zero.to_string();
  const Status short_timeout = engine->register_function(
      {.id = "b", .debounce = Debounce{.period = 10s, .timeout = 5s}}, body);
  EXPECT_NE(short_timeout.message().find("debounce timeout 5000 ms is out of range 10000"),
            std::string::npos)
      << short_timeout.to_string();
  const Status bad_key = engine->register_function(
      {.id = "c", .debounce = Debounce{.period = 1s, .key = "data."}}, body);
  EXPECT_NE(bad_key.message().find("debounce key"), std::string::npos) << bad_key.to_string();
}

}  // namespace
}  // namespace cairn
