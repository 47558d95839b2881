// Calls and options at the ends of their ranges: the longest durations mean "as long as can be"
// (as ctx.sleep and wait_for_event already do), never "at once"; a duration that cannot mean
// anything (negative) is refused, naming it.
#include <atomic>
#include <future>
#include <stdexcept>

#include "cairn/errors.h"
#include "engine_fixture.h"

namespace cairn {
namespace {

using testing::contains;
using testing::EngineTest;
using namespace std::chrono_literals;

void register_sleeper(Engine& e) {
  ASSERT_TRUE(e.register_function(
                   {.id = "sleeper", .triggers = {on_event("go")}},
                   [](Context& ctx, const Event&) -> Task<void> { co_await ctx.sleep("nap", 1h); })
                  .ok());
}

// wait_run(run, milliseconds::max()) waits until the run finishes. Its deadline,
// steady_clock::now() + timeout, used to overflow (the sum is taken in nanoseconds) into the past:
// the call returned kTimeout at once.
TEST_F(EngineTest, WaitRunWithTheLongestTimeoutWaitsForTheRun) {
  start(register_sleeper);
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  auto waiting = std::async(
      std::launch::async, [&] { return engine_->wait_run(id, std::chrono::milliseconds::max()); });
  ASSERT_EQ(waiting.wait_for(200ms), std::future_status::timeout)
      << "wait_run returned at once: " << waiting.get().status().to_string();
  clock_->advance(2h);
  ASSERT_EQ(waiting.wait_for(20s), std::future_status::ready);
  const Result<RunInfo> r = waiting.get();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, RunStatus::kCompleted);
}

// A negative timeout is a mistake in the caller, not "do not wait": refused, naming it.
TEST_F(EngineTest, WaitRunRefusesANegativeTimeout) {
  start(register_sleeper);
  const RunId id = send_one({.name = "go"});
  const Result<RunInfo> r = engine_->wait_run(id, -1ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().to_string();
  EXPECT_TRUE(contains(r.status().message(), "timeout")) << r.status().to_string();
  EXPECT_TRUE(engine_->wait_run(id, 0ms).status().code() == StatusCode::kTimeout);
}

// backoff_max = milliseconds::max() ("no cap") with a backoff that reaches it: the retry waits
// (practically) forever. The ±25% jitter added to the capped backoff used to overflow for about
// half of the runs, whose retry then came 1 ms later.
TEST_F(EngineTest, TheLongestBackoffDoesNotRetryAtOnce) {
  constexpr int kRuns = 32;
  std::atomic<int> attempts{0};
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "flaky",
                                     .triggers = {on_event("go")},
                                     .retries = 1,
                                     .backoff_base = std::chrono::milliseconds::max(),
                                     .backoff_max = std::chrono::milliseconds::max()},
                                    [&](Context& ctx, const Event&) -> Task<int> {
                                      co_return co_await ctx.run("call", [&] {
                                        ++attempts;
                                        throw std::runtime_error("503");
                                        return 1;
                                      });
                                    })
                    .ok());
  });
  for (int i = 0; i < kRuns; ++i) send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return engine_->stats().step_failures == kRuns; }));
  clock_->advance(24h * 365);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(attempts.load(), kRuns) << "runs retried after a year, not after ~292 million years";
  EXPECT_EQ(engine_->stats().step_failures, uint64_t{kRuns});
}

// A sleep of centuries on the system clock: the timer thread waits (an hour at a time) instead of
// overflowing when it turned the far deadline into nanoseconds (undefined behaviour, which the
// AddressSanitizer+UBSan build stops on).
TEST_F(EngineTest, ASleepOfCenturiesOnTheSystemClockWaits) {
  options_.clock = nullptr;  // the system clock
  start([](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "long", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<void> {
                                      co_await ctx.sleep("nap",
                                                         std::chrono::hours(24 * 365 * 1000));
                                    })
                    .ok());
  });
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  std::this_thread::sleep_for(50ms);  // the timer thread computes its wait
  EXPECT_EQ(status_of(id), RunStatus::kSleeping);
}

// A '*' means "any name with this prefix" only as a trailing "/*" ("order/*"). Anywhere else the
// trigger compared names literally: on_event("*") or on_event("order.*") was accepted and then
// silently matched nothing but an event of that very name. Refused now, naming the trigger.
TEST_F(EngineTest, ATriggerWithAStarThatIsNotATrailingSlashStarIsRefused) {
  for (const char* name : {"*", "order*", "order.*", "order/*/created", "order/**"}) {
    SCOPED_TRACE(name);
    auto engine = Engine::create(options_);
    testing::expect_refused(*engine, {.id = "f", .triggers = {on_event(name)}},
                            "\"" + std::string(name) + "\"");
  }
  start([](Engine& e) {
    auto body = [](Context&, const Event&) -> Task<void> { co_return; };
    ASSERT_TRUE(
        e.register_function({.id = "orders", .triggers = {on_event("order/*")}}, body).ok());
    ASSERT_TRUE(e.register_function({.id = "rooted", .triggers = {on_event("/*")}}, body).ok());
  });
  auto r = engine_->send({.name = "order/created"});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->runs.size(), 1u);
}

// cancel_on compares event names exactly: a trigger-style wildcard there ("order/*") was accepted
// and then cancelled nothing, not even on an "order/cancelled" whose data matched. Refused now.
TEST_F(EngineTest, ACancelOnEventWithAStarIsRefused) {
  auto engine = Engine::create(options_);
  testing::expect_refused(*engine,
                          {.id = "f",
                           .triggers = {on_event("order/created")},
                           .cancel_on = {{.event = "order/*", .match = "data.order_id"}}},
                          "cancel_on event \"order/*\"");
}

// A step's own retries (StepOptions) may be as many as uint32_t holds: "retry until it works".
// The attempt count in the recorded error, retries + 1, wrapped to 0 ("attempt 1 of 0").
TEST_F(EngineTest, TheMostStepRetriesAreCountedWithoutWrapping) {
  start([](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<std::string> {
                                      constexpr StepOptions kForever{.retries = UINT32_MAX};
                                      co_await ctx.run(
                                          "call", []() -> int { throw std::runtime_error("down"); },
                                          kForever);
                                      co_return "no error";
                                    })
                    .ok());
  });
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return engine_->stats().step_failures >= 1; }));
  auto history = engine_->run_history(id);
  ASSERT_TRUE(history.ok()) << history.status().to_string();
  std::string error;
  for (const HistoryEntry& h : *history) {
    if (h.kind == HistoryEntry::Kind::kStepFailed) error = h.value;
  }
  EXPECT_EQ(error, "down (attempt 1 of 4294967296)");
  ASSERT_TRUE(engine_->cancel(id, "done").ok());
}

// A wait's negative timeout (a deadline computed as `deadline - now` that has passed) was read as
// 0, "no timeout": the run waited forever. It fails the operation now, naming the timeout, like
// the wait's other malformed arguments.
TEST_F(EngineTest, AWaitWithANegativeTimeoutFailsNamingIt) {
  start([](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<std::string> {
                                      const WaitOptions wait{.event = "approved", .timeout = -1ms};
                                      try {
                                        co_await ctx.wait_for_event("approval", wait);
                                      } catch (const StepError& e) {
                                        co_return e.what();
                                      }
                                      co_return "waited";
                                    })
                    .ok());
  });
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually(
      [&] { return is_finished(status_of(id)) || status_of(id) == RunStatus::kWaiting; }));
  clock_->advance(24h * 365);
  const Result<RunInfo> r = engine_->wait_run(id, 5s);
  ASSERT_TRUE(r.ok()) << "the run still waits a year later: " << r.status().to_string();
  const std::string error = Codec<std::string>::decode(r->output);
  EXPECT_TRUE(contains(error, "timeout")) << error;
}

// WaitOptions::value is what the field named by `match` must equal; without a match it was
// ignored, and the wait took any event of that name: one waiting for {"value": "A"} resumed on
// an "approved" event about B. Such a wait fails now, naming the missing match.
TEST_F(EngineTest, AWaitWithAValueButNoMatchFailsNamingIt) {
  start([](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<std::string> {
                                      const WaitOptions wait{.event = "approved", .value = "\"A\""};
                                      try {
                                        std::optional<Event> got =
                                            co_await ctx.wait_for_event("approval", wait);
                                        co_return got ? "resumed by " + got->data : "timed out";
                                      } catch (const StepError& e) {
                                        co_return e.what();
                                      }
                                    })
                    .ok());
  });
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually(
      [&] { return is_finished(status_of(id)) || status_of(id) == RunStatus::kWaiting; }));
  if (status_of(id) == RunStatus::kWaiting) {
    ASSERT_TRUE(engine_->send({.name = "approved", .data = R"({"id":"B"})"}).ok());
  }
  const std::string out = Codec<std::string>::decode(wait(id).output);
  EXPECT_TRUE(contains(out, "value")) << out;
  EXPECT_TRUE(contains(out, "match")) << out;
}

// Triggers read "approval/*" as a prefix; a wait compared it literally and waited for an event of
// that very name while approval/granted went by. It fails now, naming the '*'.
TEST_F(EngineTest, AWaitForANameWithAStarFailsNamingIt) {
  start([](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<std::string> {
                                      try {
                                        std::optional<Event> got = co_await ctx.wait_for_event(
                                            "approval", {.event = "approval/*", .timeout = 1h});
                                        co_return got ? "resumed by " + got->name : "timed out";
                                      } catch (const StepError& e) {
                                        co_return e.what();
                                      }
                                    })
                    .ok());
  });
  const RunId id = send_one({.name = "go"});
  const std::string out = Codec<std::string>::decode(wait(id, 5s).output);
  EXPECT_TRUE(contains(out, "'*' is no wildcard here")) << out;
  EXPECT_TRUE(contains(out, "wait_for_event(\"approval\")")) << out;
}

// A function's failure handler is registered as "<id>/on-failure". A function without one was
// refused when a function of that name existed, as "function x is already registered" (it was
// not); with one, the refusal names the handler's id.
TEST_F(EngineTest, OnlyAFailureHandlerCollidesWithItsName) {
  auto engine = Engine::create(options_);
  auto body = [](Context&, const Event&) -> Task<void> { co_return; };
  ASSERT_TRUE(engine->register_function({.id = "x/on-failure"}, body).ok());
  const Status plain = engine->register_function({.id = "x"}, body);
  EXPECT_TRUE(plain.ok()) << plain.to_string();
  ASSERT_TRUE(engine->register_function({.id = "y/on-failure"}, body).ok());
  const Status handled = engine->register_function(
      {.id = "y", .on_failure = [](Context&, const Event&) -> Task<void> { co_return; }}, body);
  EXPECT_EQ(handled.code(), StatusCode::kAlreadyExists) << handled.to_string();
  EXPECT_TRUE(contains(handled.message(), "y/on-failure")) << handled.to_string();
}

}  // namespace
}  // namespace cairn
