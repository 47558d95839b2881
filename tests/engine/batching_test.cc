// Batching: a key's events go into one run that gets them all in order (Context::events()); it
// starts when the batch is full or its timeout passes; the other events' runs end skipped with
// the run they went to; keys are independent; an open batch survives a restart (with and without
// a snapshot); a cancelled batch frees its key; bad options are refused.
#include <mutex>
#include <string>
#include <vector>

#include "engine_fixture.h"

namespace cairn {
namespace {

using testing::EngineTest;
using namespace std::chrono_literals;

class BatchingTest : public EngineTest {
 protected:
  BatchingTest() { options_.workers = 2; }

  void setup(Engine& e, Batching b) {
    ASSERT_TRUE(e.register_function(
                     {.id = "batched", .triggers = {on_event("item")}, .batch = std::move(b)},
                     [this](Context& ctx, const Event&) -> Task<void> {
                       std::string all;
                       for (const Event& ev : ctx.events())
                         all += (all.empty() ? "" : ",") + ev.data;
                       auto body = [this, all] {
                         std::lock_guard lock(mu_);
                         ran_.push_back(all);
                       };
                       co_await ctx.run("process", body);
                     })
                    .ok());
  }
  void start_with(Batching b) {
    start([this, b](Engine& e) { setup(e, b); });
  }
  RunId item(const std::string& key, int n) {
    return send_one(
        {.name = "item", .data = R"({"k":")" + key + R"(","n":)" + std::to_string(n) + "}"});
  }
  static std::string data(const std::string& key, int n) {
    return R"({"k":")" + key + R"(","n":)" + std::to_string(n) + "}";
  }
  std::vector<std::string> ran() {
    std::lock_guard lock(mu_);
    return ran_;
  }

  std::mutex mu_;
  std::vector<std::string> ran_;  // per step body run: the data of the run's events, in order
};

TEST_F(BatchingTest, AFullBatchStartsAtOnceWithEveryEventOfItsKey) {
  start_with({.max_events = 3, .timeout = 1min, .key = "data.k"});
  const RunId a1 = item("a", 1);
  const RunId b1 = item("b", 1);
  const RunId a2 = item("a", 2);
  const RunId a3 = item("a", 3);
  EXPECT_EQ(wait(a1).status, RunStatus::kCompleted);
  const RunInfo joined = wait(a2);
  EXPECT_EQ(joined.status, RunStatus::kSkipped);
  EXPECT_EQ(joined.error, "batched into run " + std::to_string(a1) + " (key \"a\")");
  EXPECT_EQ(wait(a3).status, RunStatus::kSkipped);
  EXPECT_EQ(ran(),
            std::vector<std::string>{data("a", 1) + "," + data("a", 2) + "," + data("a", 3)});
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(status_of(b1), RunStatus::kQueued) << "a batch of one event started before its timeout";
  const RunId a4 = item("a", 4);  // a new batch of key a
  clock_->advance(1min);
  EXPECT_EQ(wait(b1).status, RunStatus::kCompleted);
  EXPECT_EQ(wait(a4).status, RunStatus::kCompleted);
  EXPECT_EQ(ran().size(), 3u);
}

TEST_F(BatchingTest, TheTimeoutStartsAPartialBatch) {
  start_with({.max_events = 10, .timeout = 10s});
  const RunId first = item("", 1);
  clock_->advance(4s);
  item("", 2);
  clock_->advance(5999ms);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(status_of(first), RunStatus::kQueued);
  clock_->advance(1ms);  // 10 s after the first event, not the last
  EXPECT_EQ(wait(first).status, RunStatus::kCompleted);
  EXPECT_EQ(ran(), std::vector<std::string>{data("", 1) + "," + data("", 2)});
}

class BatchingRestartTest : public BatchingTest, public ::testing::WithParamInterface<bool> {
 protected:
  BatchingRestartTest() { use_snapshots(GetParam()); }
};

TEST_P(BatchingRestartTest, AnOpenBatchSurvivesARestart) {
  const Batching b{.max_events = 5, .timeout = 10s, .key = "data.k"};
  start_with(b);
  const RunId first = item("a", 1);
  const RunId second = item("a", 2);
  EXPECT_EQ(wait(second).status, RunStatus::kSkipped);
  stop();
  start_with(b);
  const RunId third = item("a", 3);  // joins the batch the restart rebuilt
  EXPECT_EQ(wait(third).status, RunStatus::kSkipped);
  stop();
  clock_->advance(1min);  // its timeout passes while the engine is stopped
  start_with(b);
  EXPECT_EQ(wait(first).status, RunStatus::kCompleted);
  EXPECT_EQ(ran(),
            std::vector<std::string>{data("a", 1) + "," + data("a", 2) + "," + data("a", 3)});
}

INSTANTIATE_TEST_SUITE_P(Snapshots, BatchingRestartTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "snapshot" : "replay"; });

TEST_F(BatchingTest, ACancelledBatchFreesItsKey) {
  start_with({.max_events = 2, .timeout = 1min});
  const RunId first = item("", 1);
  ASSERT_TRUE(engine_->cancel(first, "not needed").ok());
  EXPECT_EQ(wait(first).status, RunStatus::kCancelled);
  const RunId second = item("", 2);
  const RunId third = item("", 3);
  EXPECT_EQ(wait(second).status, RunStatus::kCompleted);
  EXPECT_EQ(wait(third).status, RunStatus::kSkipped);
  EXPECT_EQ(ran(), std::vector<std::string>{data("", 2) + "," + data("", 3)});
}

TEST_F(BatchingTest, BadBatchOptionsAreRefused) {
  auto engine = Engine::create(options_);
  auto refused = [&](FunctionOptions o, std::string_view says) {
    testing::expect_refused(*engine, std::move(o), says);
  };
  refused({.id = "a", .batch = Batching{.max_events = 0, .timeout = 1s}},
          "batch max_events 0 is out of range 1-10000");
  refused({.id = "b", .batch = Batching{.max_events = 2}}, "batch timeout 0 ms is out of range");
  refused({.id = "c", .batch = Batching{.max_events = 2, .timeout = 1s, .key = "k"}}, "batch key");
  refused({.id = "d",
           .debounce = Debounce{.period = 1s},
           .batch = Batching{.max_events = 2, .timeout = 1s}},
          "debounce and batch cannot be combined");
}

}  // namespace
}  // namespace cairn
