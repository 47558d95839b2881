// More capabilities: one event starting several functions, FlatBuffers values, sleep_until,
// timeouts and invoke across a restart, repeated step ids in a loop, cancelling a waiting run, and
// many concurrent runs (the scheduler under load; run it under TSan too).
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>

#include "cairn/errors.h"
#include "cairn/flatbuffers_codec.h"
#include "cairn/json_codec.h"
#include "cairn/schema/records_generated.h"
#include "engine_fixture.h"

namespace cairn {
namespace {

using testing::EngineTest;
using namespace std::chrono_literals;

TEST_F(EngineTest, OneEventStartsEveryFunctionItTriggers) {
  std::atomic<int> a{0}, b{0}, other{0};
  start([&](Engine& e) {
    auto count = [](std::atomic<int>& n) {
      return [&n](Context& ctx, const Event&) -> Task<void> {
        co_await ctx.run("count", [&n] { ++n; });
      };
    };
    ASSERT_TRUE(
        e.register_function({.id = "a", .triggers = {on_event("user/created")}}, count(a)).ok());
    ASSERT_TRUE(e.register_function({.id = "b", .triggers = {on_event("user/*")}}, count(b)).ok());
    ASSERT_TRUE(
        e.register_function({.id = "c", .triggers = {on_event("order/created")}}, count(other))
            .ok());
  });
  auto sent = engine_->send({.name = "user/created"});
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(sent->runs.size(), 2u);
  for (RunId id : sent->runs) EXPECT_EQ(wait(id).status, RunStatus::kCompleted);
  EXPECT_EQ(a.load(), 1);
  EXPECT_EQ(b.load(), 1);
  EXPECT_EQ(other.load(), 0);
  auto none = engine_->send({.name = "nobody/listens"});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->runs.empty());
}

TEST_F(EngineTest, FlatBuffersTablesAreStepValues) {
  using Blob = schema::Blob;
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "fb", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<uint64_t> {
                                      FlatBuffer<Blob> v = co_await ctx.run("make", [] {
                                        flatbuffers::FlatBufferBuilder fbb;
                                        fbb.Finish(schema::CreateBlob(fbb, 3, 99));
                                        return FlatBuffer<Blob>::from_builder(fbb);
                                      });
                                      co_await ctx.sleep("nap", 1h);
                                      co_return v->seq() + v->producer();
                                    })
                    .ok());
  };
  start(setup);
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  stop();
  start(setup);  // the value is decoded (and verified) from the log on replay
  clock_->advance(2h);
  EXPECT_EQ(Codec<uint64_t>::decode(wait(id).output), 102u);
}

TEST_F(EngineTest, SleepUntilAnAbsoluteTime) {
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<int64_t> {
                                      const int64_t start = co_await ctx.now_ms("start");
                                      const auto at = std::chrono::system_clock::time_point(
                                          std::chrono::milliseconds(start + 90'000));
                                      co_await ctx.sleep_until("alarm", at);
                                      co_return co_await ctx.now_ms("woke");
                                    })
                    .ok());
  });
  const int64_t t0 = clock_->now_ms();
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  clock_->advance(60s);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(status_of(id), RunStatus::kSleeping);
  clock_->advance(31s);
  EXPECT_GE(Codec<int64_t>::decode(wait(id).output), t0 + 90'000);
}

TEST_F(EngineTest, WaitTimeoutRunsOutWhileTheEngineIsDown) {
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "w", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<bool> {
                                      auto ev = co_await ctx.wait_for_event(
                                          "approval", {.event = "approved", .timeout = 1h});
                                      co_return ev.has_value();
                                    })
                    .ok());
  };
  start(setup);
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kWaiting; }));
  stop();
  clock_->advance(2h);
  start(setup);
  EXPECT_EQ(Codec<bool>::decode(wait(id).output), false);
  // The timed-out wait is gone from the index: a late event starts nothing and resumes nothing.
  auto late = engine_->send({.name = "approved"});
  ASSERT_TRUE(late.ok());
  EXPECT_TRUE(late->runs.empty());
}

TEST_F(EngineTest, InvokedRunThatOutlivesARestartStillResumesItsParent) {
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "child"}, [](Context& ctx, const Event&) -> Task<int> {
                   co_await ctx.sleep("slow", 1h);
                   co_return 5;
                 }).ok());
    ASSERT_TRUE(e.register_function({.id = "parent", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<int> {
                                      int v =
                                          co_await ctx.invoke<int>("call", {.function = "child"});
                                      co_return v * 2;
                                    })
                    .ok());
  };
  start(setup);
  const RunId parent = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] {
    return status_of(parent) == RunStatus::kWaiting &&
           !engine_->list_runs({.function_id = "child", .status = RunStatus::kSleeping})
                .runs.empty();
  }));
  stop();
  start(setup);
  clock_->advance(2h);
  RunInfo info = wait(parent);
  EXPECT_EQ(info.status, RunStatus::kCompleted);
  EXPECT_EQ(Codec<int>::decode(info.output), 10);
}

TEST_F(EngineTest, RepeatedStepIdsInALoopGetTheirOwnPositionsAndReplay) {
  std::atomic<int> calls{0};
  std::vector<std::string> keys;
  std::mutex mu;
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "loop", .triggers = {on_event("go")}},
                                    [&](Context& ctx, const Event&) -> Task<int> {
                                      int sum = 0;
                                      for (int i = 0; i < 4; ++i) {
                                        sum += co_await ctx.run("item", [&, i](const StepInfo& s) {
                                          ++calls;
                                          std::lock_guard lock(mu);
                                          keys.emplace_back(s.idempotency_key);
                                          return i;
                                        });
                                      }
                                      co_await ctx.sleep("nap", 1h);
                                      co_return sum;
                                    })
                    .ok());
  };
  start(setup);
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  stop();
  start(setup);
  clock_->advance(2h);
  EXPECT_EQ(Codec<int>::decode(wait(id).output), 6);
  EXPECT_EQ(calls.load(), 4);
  const std::string p = std::to_string(id) + ":item";
  EXPECT_EQ(keys, (std::vector<std::string>{p, p + ":1", p + ":2", p + ":3"}));
}

TEST_F(EngineTest, CancellingAWaitingRunLeavesNothingBehind) {
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "w", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<void> {
                                      co_await ctx.wait_for_event("x",
                                                                  {.event = "x", .timeout = 1h});
                                    })
                    .ok());
  });
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kWaiting; }));
  ASSERT_TRUE(engine_->cancel(id, "not needed").ok());
  EXPECT_EQ(wait(id).status, RunStatus::kCancelled);
  ASSERT_TRUE(engine_->send({.name = "x"}).ok());  // nothing to resume
  clock_->advance(2h);                             // the timeout fires for a finished run
  EXPECT_TRUE(eventually([&] { return engine_->stats().runs_active == 0; }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(status_of(id), RunStatus::kCancelled);
}

// Engine::cancel ends a run whose code may be running between two operations: once cancel()
// returned, that code starts nothing more, neither a step body nor an invoked run.
class CancelWhileCodeRuns : public EngineTest, public ::testing::WithParamInterface<bool> {};

TEST_P(CancelWhileCodeRuns, NothingMoreStartsAfterCancelReturns) {
  const bool invoke_next = GetParam();
  std::mutex mu;
  std::condition_variable cv;
  bool at_gate = false;
  bool open = false;
  std::atomic<int> child_ran{0};
  std::atomic<int> step_ran{0};
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "child"}, [&](Context& ctx, const Event&) -> Task<int> {
                   co_return co_await ctx.run("work", [&] { return ++child_ran; });
                 }).ok());
    ASSERT_TRUE(e.register_function({.id = "parent", .triggers = {on_event("go")}},
                                    [&](Context& ctx, const Event&) -> Task<void> {
                                      co_await ctx.run("first", [] { return 1; });
                                      {  // code between two operations
                                        std::unique_lock lock(mu);
                                        at_gate = true;
                                        cv.notify_all();
                                        cv.wait(lock, [&] { return open; });
                                      }
                                      if (invoke_next) {
                                        co_await ctx.invoke("child", {.function = "child"});
                                      } else {
                                        co_await ctx.run("second", [&] { return ++step_ran; });
                                      }
                                    })
                    .ok());
  });
  const RunId id = send_one({.name = "go"});
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return at_gate; }));
  }
  ASSERT_TRUE(engine_->cancel(id, "stop").ok());
  EXPECT_EQ(status_of(id), RunStatus::kCancelled);
  {
    std::lock_guard lock(mu);
    open = true;
  }
  cv.notify_all();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(step_ran.load(), 0) << "a step body began after cancel() returned";
  EXPECT_EQ(child_ran.load(), 0) << "the cancelled run invoked a child that ran";
  EXPECT_EQ(engine_->list_runs().runs.size(), 1u) << "a run was created after cancel() returned";
}

INSTANTIATE_TEST_SUITE_P(NextOperation, CancelWhileCodeRuns, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Invoke" : "Step"; });

TEST_F(EngineTest, ManyConcurrentRunsAllFinishWithTheirOwnResults) {
  options_.workers = 4;
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "sum", .triggers = {on_event("n")}},
                                    [](Context& ctx, const Event& ev) -> Task<int> {
                                      const int n = nlohmann::json::parse(ev.data)["n"];
                                      int acc = 0;
                                      for (int i = 0; i < 5; ++i) {
                                        acc += co_await ctx.run("add", [=] { return n + i; });
                                      }
                                      co_return acc;
                                    })
                    .ok());
  });
  constexpr int kRuns = 2000;
  std::vector<Event> events;
  for (int n = 0; n < kRuns; ++n) {
    events.push_back({.name = "n", .data = "{\"n\":" + std::to_string(n) + "}"});
  }
  // One send() is one log record (all or nothing): a few hundred small events at a time.
  std::vector<SendResult> sent;
  for (size_t at = 0; at < events.size(); at += 500) {
    auto part = engine_->send(std::span(events).subspan(at, 500));
    ASSERT_TRUE(part.ok()) << part.status().to_string();
    sent.insert(sent.end(), part->begin(), part->end());
  }
  for (int n = 0; n < kRuns; ++n) {
    RunInfo info = wait(sent[n].runs.at(0));
    ASSERT_EQ(info.status, RunStatus::kCompleted);
    EXPECT_EQ(Codec<int>::decode(info.output), 5 * n + 10);
  }
  EXPECT_EQ(engine_->stats().steps_completed, uint64_t{kRuns} * 5);
  // A run is in the finished runs a moment before it leaves the active count.
  EXPECT_TRUE(eventually([&] { return engine_->stats().runs_active == 0; }));
}

}  // namespace
}  // namespace cairn
