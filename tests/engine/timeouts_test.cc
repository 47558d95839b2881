// A function's start and finish timeouts: a run queued too long (behind a concurrency limit or a
// throttle) or running too long (sleeping included) is cancelled with the reason; the deadlines
// come from recorded times, so they hold across a restart (with and without a snapshot); a run
// that ends in time leaves no timer behind; bad values are refused at registration.
#include <atomic>
#include <thread>

#include "engine_fixture.h"

namespace cairn {
namespace {

using testing::EngineTest;
using namespace std::chrono_literals;

class TimeoutsTest : public EngineTest {
 protected:
  TimeoutsTest() { options_.workers = 2; }

  // One step, a long sleep, another step: `second` counts the second step's runs.
  auto sleeper(std::atomic<int>& second) {
    return [&second](Context& ctx, const Event&) -> Task<void> {
      co_await ctx.run("first", [] {});
      co_await ctx.sleep("nap", 10min);
      co_await ctx.run("second", [&second] { ++second; });
    };
  }

  bool has_history_entry(RunId run, HistoryEntry::Kind kind) {
    auto history = engine_->run_history(run);
    EXPECT_TRUE(history.ok()) << history.status().to_string();
    if (!history.ok()) return false;
    for (const HistoryEntry& h : *history) {
      if (h.kind == kind) return true;
    }
    return false;
  }
};

TEST_F(TimeoutsTest, AStartTimeoutCancelsARunQueuedBehindAConcurrencyLimit) {
  std::atomic<bool> release{false};
  std::atomic<int> bodies{0};
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "one-at-a-time",
                                     .triggers = {on_event("go")},
                                     .concurrency = {{.limit = 1}},
                                     .timeouts = {.start = 10s}},
                                    [&](Context& ctx, const Event&) -> Task<void> {
                                      auto body = [&] {
                                        ++bodies;
                                        while (!release.load()) std::this_thread::sleep_for(1ms);
                                      };
                                      co_await ctx.run("hold", body);
                                    })
                    .ok());
  });
  const RunId first = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return bodies.load() == 1; }));
  const RunId queued = send_one({.name = "go"});
  clock_->advance(9999ms);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(status_of(queued), RunStatus::kQueued) << "cancelled before its start timeout";
  clock_->advance(1ms);
  const RunInfo cancelled = wait(queued);
  EXPECT_EQ(cancelled.status, RunStatus::kCancelled);
  EXPECT_EQ(cancelled.error, "start timeout: not started within 10000 ms of being created");
  release = true;
  // The first run started at once: its start timeout passed while it ran, and it completes.
  EXPECT_EQ(wait(first).status, RunStatus::kCompleted);
  EXPECT_EQ(bodies.load(), 1) << "the cancelled run executed its step";
  EXPECT_TRUE(eventually([&] { return engine_->stats().timers == 0; }))
      << "a finished run left a timer armed";
}

TEST_F(TimeoutsTest, AStartTimeoutCancelsARunItsThrottleDelays) {
  std::atomic<int> ran{0};
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "throttled",
                                     .triggers = {on_event("go")},
                                     .throttle = ThrottleLimit{.limit = 1, .period = 1min},
                                     .timeouts = {.start = 20s}},
                                    [&](Context& ctx, const Event&) -> Task<void> {
                                      co_await ctx.run("work", [&] { ++ran; });
                                    })
                    .ok());
  });
  const RunId a = send_one({.name = "go"});
  const RunId b = send_one({.name = "go"});
  const RunId c = send_one({.name = "go"});
  EXPECT_EQ(wait(a).status, RunStatus::kCompleted);
  clock_->advance(20s);
  EXPECT_EQ(wait(b).status, RunStatus::kCancelled);
  EXPECT_EQ(wait(c).status, RunStatus::kCancelled);
  clock_->advance(2min);
  // The cancelled runs gave their place up and used no throttle budget: the next one starts.
  const RunId d = send_one({.name = "go"});
  EXPECT_EQ(wait(d).status, RunStatus::kCompleted);
  EXPECT_EQ(ran.load(), 2);
}

TEST_F(TimeoutsTest, AFinishTimeoutCancelsARunThatSleepsPastIt) {
  std::atomic<int> second{0};
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function(
                     {.id = "slow", .triggers = {on_event("go")}, .timeouts = {.finish = 1min}},
                     sleeper(second))
                    .ok());
  });
  const RunId run = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(run) == RunStatus::kSleeping; }));
  clock_->advance(59s);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(status_of(run), RunStatus::kSleeping);
  clock_->advance(1s);
  const RunInfo info = wait(run);
  EXPECT_EQ(info.status, RunStatus::kCancelled);
  EXPECT_EQ(info.error, "finish timeout: not finished within 60000 ms of starting");
  clock_->advance(10min);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(second.load(), 0) << "a step after the cancellation ran";
  EXPECT_TRUE(has_history_entry(run, HistoryEntry::Kind::kAdmitted))
      << "the start was not recorded";
}

TEST_F(TimeoutsTest, ARunThatEndsInTimeIsNotCancelled) {
  std::atomic<int> second{0};
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "quick-enough",
                                     .triggers = {on_event("go")},
                                     .timeouts = {.start = 1s, .finish = 11min}},
                                    sleeper(second))
                    .ok());
  });
  const RunId run = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(run) == RunStatus::kSleeping; }));
  clock_->advance(10min);
  EXPECT_EQ(wait(run).status, RunStatus::kCompleted);
  EXPECT_EQ(second.load(), 1);
  EXPECT_TRUE(eventually([&] { return engine_->stats().timers == 0; }));
  clock_->advance(2min);  // past where the finish timeout was: nothing is appended for it
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(has_history_entry(run, HistoryEntry::Kind::kCancelled));
}

class TimeoutsAcrossRestartTest : public TimeoutsTest, public ::testing::WithParamInterface<bool> {
 protected:
  TimeoutsAcrossRestartTest() { use_snapshots(GetParam()); }
};

TEST_P(TimeoutsAcrossRestartTest, AFinishTimeoutCountsFromTheRecordedStartAcrossRestarts) {
  std::atomic<int> second{0};
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "slow",
                                     .triggers = {on_event("go")},
                                     .throttle = ThrottleLimit{.limit = 1, .period = 1min},
                                     .timeouts = {.finish = 1min}},
                                    sleeper(second))
                    .ok());
  };
  start(setup);
  const RunId a = send_one({.name = "go"});
  const RunId b = send_one({.name = "go"});  // created now, started by its throttle 1 min later
  ASSERT_TRUE(eventually([&] { return status_of(a) == RunStatus::kSleeping; }));
  clock_->advance(1min);
  EXPECT_EQ(wait(a).status, RunStatus::kCancelled);
  ASSERT_TRUE(eventually([&] { return status_of(b) == RunStatus::kSleeping; }));
  clock_->advance(30s);
  stop();
  start(setup);
  // Counted from b's recorded start, neither from its creation nor from the restart.
  clock_->advance(29s);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(status_of(b), RunStatus::kSleeping);
  stop();
  clock_->advance(5min);
  start(setup);  // the deadline passed while the engine was stopped: it fires at once
  const RunInfo info = wait(b);
  EXPECT_EQ(info.status, RunStatus::kCancelled);
  EXPECT_EQ(info.error, "finish timeout: not finished within 60000 ms of starting");
  EXPECT_EQ(second.load(), 0);
}

TEST_P(TimeoutsAcrossRestartTest, AStartTimeoutHoldsForARunStillDelayedAfterARestart) {
  std::atomic<int> ran{0};
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "throttled",
                                     .triggers = {on_event("go")},
                                     .throttle = ThrottleLimit{.limit = 1, .period = 1h},
                                     .timeouts = {.start = 1min}},
                                    [&](Context& ctx, const Event&) -> Task<void> {
                                      co_await ctx.run("work", [&] { ++ran; });
                                    })
                    .ok());
  };
  start(setup);
  const RunId a = send_one({.name = "go"});
  const RunId b = send_one({.name = "go"});
  EXPECT_EQ(wait(a).status, RunStatus::kCompleted);
  clock_->advance(40s);
  stop();
  start(setup);
  clock_->advance(19s);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(status_of(b), RunStatus::kQueued);
  clock_->advance(1s);
  const RunInfo info = wait(b);
  EXPECT_EQ(info.status, RunStatus::kCancelled);
  EXPECT_EQ(info.error, "start timeout: not started within 60000 ms of being created");
  EXPECT_EQ(ran.load(), 1);
}

INSTANTIATE_TEST_SUITE_P(Snapshots, TimeoutsAcrossRestartTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "snapshot" : "replay"; });

TEST_F(TimeoutsTest, BadTimeoutsAreRefusedAtRegistration) {
  auto engine = Engine::create(options_);
  auto body = [](Context&, const Event&) -> Task<void> { co_return; };
  const Status negative = engine->register_function({.id = "a", .timeouts = {.start = -1ms}}, body);
  EXPECT_EQ(negative.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(negative.message().find("timeouts.start -1 ms is out of range"), std::string::npos)
      << negative.to_string();
  const Status too_long =
      engine->register_function({.id = "b", .timeouts = {.finish = 367 * 24h}}, body);
  EXPECT_EQ(too_long.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_long.message().find("timeouts.finish"), std::string::npos) << too_long.to_string();
  EXPECT_TRUE(engine->register_function({.id = "a", .timeouts = {.start = 1ms}}, body).ok());
}

}  // namespace
}  // namespace cairn
