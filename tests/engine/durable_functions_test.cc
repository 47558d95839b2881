// The capabilities of durable functions: sleeps and waits (also across a restart), timeouts,
// retries, failure handlers, invoke, send_event, duplicates, cancellation, non-determinism and
// limits. Time is a ManualClock, so nothing here waits for real time to pass.
#include <atomic>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "cairn/errors.h"
#include "cairn/json_codec.h"
#include "engine_fixture.h"

namespace cairn {
namespace {

using testing::EngineTest;
using namespace std::chrono_literals;

TEST_F(EngineTest, CompletedStepsDoNotRunAgainAfterARestart) {
  std::atomic<int> first{0}, second{0};
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [&](Context& ctx, const Event&) -> Task<std::string> {
                                      auto a = co_await ctx.run("first", [&] {
                                        ++first;
                                        return std::string("A");
                                      });
                                      co_await ctx.sleep("nap", 1h);
                                      auto b = co_await ctx.run("second", [&] {
                                        ++second;
                                        return std::string("B");
                                      });
                                      co_return a + b;
                                    })
                    .ok());
  };
  start(setup);
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  stop();
  EXPECT_EQ(first.load(), 1);
  EXPECT_EQ(second.load(), 0);

  start(setup);  // a new engine on the same log: the run is recovered, still sleeping
  EXPECT_EQ(engine_->recovery().runs_resumed, 1u);
  EXPECT_EQ(status_of(id), RunStatus::kSleeping);
  clock_->advance(30min);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(status_of(id), RunStatus::kSleeping) << "woke before its time";
  clock_->advance(31min);  // the sleep's remaining time passes
  RunInfo info = wait(id);
  EXPECT_EQ(info.status, RunStatus::kCompleted);
  EXPECT_EQ(info.output, "AB");
  EXPECT_EQ(first.load(), 1) << "a step whose completion was durable ran again";
  EXPECT_EQ(second.load(), 1);
}

TEST_F(EngineTest, SleepThatExpiredWhileDownFiresAtOnce) {
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<int> {
                                      co_await ctx.sleep("long", 24h);
                                      co_return 7;
                                    })
                    .ok());
  };
  start(setup);
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  stop();
  clock_->advance(48h);  // "the process was down for two days"
  start(setup);
  EXPECT_EQ(wait(id).status, RunStatus::kCompleted);
}

TEST_F(EngineTest, WaitForEventMatchesOnAFieldAndSurvivesRestart) {
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function(
                     {.id = "order", .triggers = {on_event("order/created")}},
                     [](Context& ctx, const Event&) -> Task<std::string> {
                       auto shipped = co_await ctx.wait_for_event(
                           "shipment", {.event = "shipment/confirmed",
                                        .match = "data.order_id",
                                        .timeout = std::chrono::hours(24 * 7)});
                       if (!shipped) co_return std::string("timeout");
                       co_return nlohmann::json::parse(shipped->data)["carrier"].get<std::string>();
                     })
                    .ok());
  };
  start(setup);
  const RunId a = send_one({.name = "order/created", .data = R"({"order_id":"A-17"})"});
  const RunId b = send_one({.name = "order/created", .data = R"({"order_id":"B-2"})"});
  ASSERT_TRUE(eventually(
      [&] { return status_of(a) == RunStatus::kWaiting && status_of(b) == RunStatus::kWaiting; }));
  stop();
  start(setup);
  // Only the run whose order id matches is resumed, with the event's data.
  send_one({.name = "shipment/confirmed", .data = R"({"order_id":"A-17","carrier":"dhl"})"});
  RunInfo ia = wait(a);
  EXPECT_EQ(ia.status, RunStatus::kCompleted);
  EXPECT_EQ(ia.output, "dhl");
  EXPECT_EQ(status_of(b), RunStatus::kWaiting);
  // An event sent again for A does not resume anything a second time.
  send_one({.name = "shipment/confirmed", .data = R"({"order_id":"A-17","carrier":"ups"})"});
  clock_->advance(std::chrono::hours(24 * 8));  // B times out
  RunInfo ib = wait(b);
  EXPECT_EQ(ib.output, "timeout");
}

TEST_F(EngineTest, EventSentBeforeTheWaitIsNotDelivered) {
  // A wait sees events that come after it in the log (no lookback yet).
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "w", .triggers = {on_event("start")}},
                                    [](Context& ctx, const Event&) -> Task<bool> {
                                      co_await ctx.sleep("later", 1min);
                                      auto ev = co_await ctx.wait_for_event(
                                          "ping", {.event = "ping", .timeout = 1h});
                                      co_return ev.has_value();
                                    })
                    .ok());
  });
  const RunId id = send_one({.name = "start"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  send_one({.name = "ping"});
  clock_->advance(2min);
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kWaiting; }));
  clock_->advance(2h);
  EXPECT_EQ(Codec<bool>::decode(wait(id).output), false);
}

TEST_F(EngineTest, FailedStepsAreRetriedWithBackoffAndTheAttemptNumber) {
  std::mutex mu;
  std::vector<uint32_t> attempts;
  std::set<std::string> keys;
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "flaky", .triggers = {on_event("go")}, .retries = 4},
                                    [&](Context& ctx, const Event&) -> Task<uint32_t> {
                                      co_return co_await ctx.run("call", [&](const StepInfo& s) {
                                        std::lock_guard lock(mu);
                                        attempts.push_back(s.attempt);
                                        keys.insert(std::string(s.idempotency_key));
                                        if (s.attempt < 3) throw std::runtime_error("503");
                                        return s.attempt;
                                      });
                                    })
                    .ok());
  });
  const RunId id = send_one({.name = "go"});
  for (uint64_t failures = 1; failures <= 2; ++failures) {
    // The failed attempt is recorded; then time passes beyond any backoff.
    ASSERT_TRUE(eventually([&] { return engine_->stats().step_failures == failures; }));
    clock_->advance(1h);
  }
  RunInfo info = wait(id);
  EXPECT_EQ(info.status, RunStatus::kCompleted);
  EXPECT_EQ(Codec<uint32_t>::decode(info.output), 3u);
  EXPECT_EQ(attempts, (std::vector<uint32_t>{1, 2, 3}));
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(*keys.begin(), std::to_string(id) + ":call");
  EXPECT_EQ(engine_->stats().step_failures, 2u);
}

// An on_failure handler that keeps its input (the failed run's description) in `input`.
std::function<Task<void>(Context&, const Event&)> keep_failure_input(std::string& input,
                                                                     std::mutex& mu) {
  return [&input, &mu](Context& ctx, const Event& ev) -> Task<void> {
    co_await ctx.run("alert", [&] {
      std::lock_guard lock(mu);
      input = ev.data;
    });
  };
}

TEST_F(EngineTest, SpentRetriesFailTheRunAndStartItsFailureHandler) {
  std::atomic<int> calls{0};
  std::string handler_input;
  std::mutex mu;
  start([&](Engine& e) {
    FunctionOptions o{.id = "charge", .triggers = {on_event("go")}, .retries = 2};
    o.on_failure = keep_failure_input(handler_input, mu);
    ASSERT_TRUE(e.register_function(o, [&](Context& ctx, const Event&) -> Task<int> {
                   co_return co_await ctx.run("pay", [&]() -> int {
                     ++calls;
                     throw std::runtime_error("card declined");
                   });
                 }).ok());
  });
  const RunId id = send_one({.name = "go", .data = R"({"amount":5})"});
  for (uint64_t failures = 1; failures <= 2; ++failures) {
    ASSERT_TRUE(eventually([&] { return engine_->stats().step_failures == failures; }));
    clock_->advance(2h);
  }
  RunInfo info = wait(id);
  EXPECT_EQ(info.status, RunStatus::kFailed);
  // The run's error names the step that failed it, and the last attempt.
  EXPECT_EQ(info.error, "\"pay\" failed: card declined (attempt 3 of 3)");
  EXPECT_EQ(calls.load(), 3);  // the first attempt and two retries
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return !handler_input.empty();
  }));
  auto data = nlohmann::json::parse(handler_input);
  EXPECT_EQ(data["function_id"], "charge");
  EXPECT_EQ(data["run_id"], id);
  EXPECT_EQ(data["event"]["data"]["amount"], 5);
}

// An error's text is whatever the code threw: bytes that are not UTF-8 reach the failure
// handler's input (JSON) as U+FFFD instead of stopping the projection, live or on replay.
TEST_F(EngineTest, AnErrorThatIsNotUtf8StillStartsTheFailureHandlerAndReplays) {
  std::string handler_input;
  std::mutex mu;
  auto setup = [&](Engine& e) {
    FunctionOptions o{.id = "charge", .triggers = {on_event("go")}};
    o.on_failure = keep_failure_input(handler_input, mu);
    ASSERT_TRUE(e.register_function(o, [](Context& ctx, const Event&) -> Task<int> {
                   co_return co_await ctx.run("pay", []() -> int {
                     throw NonRetriableError("declined \xff\xfe\xc3 by the bank");
                   });
                 }).ok());
  };
  start(setup);
  const RunId id = send_one({.name = "go", .data = R"({"amount":5})"});
  EXPECT_EQ(wait(id).status, RunStatus::kFailed);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return !handler_input.empty();
  })) << engine_->health().to_string();
  {
    std::lock_guard lock(mu);
    auto data = nlohmann::json::parse(handler_input, nullptr, false);
    ASSERT_FALSE(data.is_discarded()) << handler_input;
    EXPECT_NE(data["error"].get<std::string>().find("by the bank"), std::string::npos);
  }
  EXPECT_TRUE(engine_->health().ok()) << engine_->health().to_string();
  stop();
  start(setup);  // replays the failure: builds the handler's input again
  EXPECT_TRUE(engine_->health().ok()) << engine_->health().to_string();
  EXPECT_EQ(engine_->get_run(id)->status, RunStatus::kFailed);
}

// A handler's input holds the failed run's error as JSON: an error of control bytes (six bytes
// each once escaped) made it about six times error_bytes_max, past what the start-time snapshot
// bound counts on. It is cut to the texts' own sizes, says so, and replays to the same bytes.
TEST_F(EngineTest, AFailureHandlersInputStaysWithinItsTextsWhateverTheErrorHolds) {
  std::string handler_input;
  std::mutex mu;
  const std::string thrown = "declined: " + std::string(64 << 10, '\x01');
  auto setup = [&](Engine& e) {
    FunctionOptions o{.id = "charge", .triggers = {on_event("go")}};
    o.on_failure = keep_failure_input(handler_input, mu);
    ASSERT_TRUE(e.register_function(o, [&](Context& ctx, const Event&) -> Task<int> {
                   co_return co_await ctx.run("pay",
                                              [&]() -> int { throw NonRetriableError(thrown); });
                 }).ok());
  };
  start(setup);
  const std::string data = R"({"amount":5})";
  const RunId id = send_one({.name = "go", .data = data});
  RunInfo failed = wait(id);
  ASSERT_EQ(failed.status, RunStatus::kFailed);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return !handler_input.empty();
  })) << engine_->health().to_string();
  std::string live;
  {
    std::lock_guard lock(mu);
    live = handler_input;
  }
  // The recorded error is already cut to error_bytes_max (16 KiB); the input adds at most the
  // event, the function id and 512 bytes to it.
  EXPECT_LE(failed.error.size(), 16u << 10);
  EXPECT_LE(live.size(), failed.error.size() + std::string("go").size() + data.size() +
                             std::string("charge").size() + 512);
  const auto j = nlohmann::json::parse(live, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << live.substr(0, 200);
  EXPECT_EQ(j["cut"], true);
  EXPECT_EQ(j["error_bytes"], failed.error.size());
  EXPECT_EQ(j["run_id"], id);
  EXPECT_EQ(j["event"]["data"]["amount"], 5);  // JSON no longer than its text stays JSON
  stop();
  start(setup);  // replays the failure: builds the handler's input again
  EXPECT_TRUE(engine_->health().ok()) << engine_->health().to_string();
  const RunPage handlers = engine_->list_runs({.function_id = "charge/on-failure"});
  ASSERT_EQ(handlers.runs.size(), 1u);
  EXPECT_EQ(handlers.runs[0].event.data, live);
}

TEST_F(EngineTest, NonRetriableErrorFailsAtOnceAndCanBeCaught) {
  std::atomic<int> calls{0};
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [&](Context& ctx, const Event&) -> Task<std::string> {
                                      try {
                                        co_await ctx.run("validate", [&]() -> int {
                                          ++calls;
                                          throw NonRetriableError("bad input");
                                        });
                                      } catch (const StepError& e) {
                                        co_return std::string("compensated: ") + e.what();
                                      }
                                      co_return std::string("unreachable");
                                    })
                    .ok());
  });
  RunInfo info = wait(send_one({.name = "go"}));
  EXPECT_EQ(info.status, RunStatus::kCompleted);
  // Not "attempt 1 of 5": no attempt follows a non-retriable failure.
  EXPECT_EQ(info.output, "compensated: bad input (attempt 1, not retried)");
  EXPECT_EQ(calls.load(), 1);
}

// Every operation of a run has its own id, and so its own idempotency key: a repeated id gets a
// suffix that never equals an id the code gives literally. "c", "c:1", "c" gave the third step the
// second one's key, and a payment API deduplicating on it would have dropped the third charge.
TEST_F(EngineTest, RepeatedStepIdsNeverMeetLiteralOnes) {
  std::mutex mu;
  std::vector<std::string> keys;
  auto step = [&](Context& ctx, const char* id) {
    return ctx.run(id, [&](const StepInfo& s) {
      std::lock_guard lock(mu);
      keys.emplace_back(s.idempotency_key);
      return 0;
    });
  };
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [&](Context& ctx, const Event&) -> Task<void> {
                                      co_await step(ctx, "c");
                                      co_await step(ctx, "c:1");
                                      co_await step(ctx, "c");
                                      co_await step(ctx, "d");
                                      co_await step(ctx, "d");
                                      co_await step(ctx, "d:1");
                                      co_await step(ctx, "d:1");
                                      co_await step(ctx, "d");
                                      co_await step(ctx, "e:01");
                                      co_await step(ctx, "e");
                                      co_await step(ctx, "e");
                                    })
                    .ok());
  });
  const RunId id = send_one({.name = "go"});
  EXPECT_EQ(wait(id).status, RunStatus::kCompleted);
  const std::string r = std::to_string(id) + ":";
  std::lock_guard lock(mu);
  EXPECT_EQ(keys, (std::vector<std::string>{r + "c", r + "c:1", r + "c:2", r + "d", r + "d:1",
                                            r + "d:1:1", r + "d:1:2", r + "d:2", r + "e:01",
                                            r + "e", r + "e:1"}));
}

// The body returned, but its value's Codec threw (nlohmann's dump of a string that is not UTF-8):
// the body's effects happened, so it must not run again. A retriable failure ran it five times.
TEST_F(EngineTest, AValueItsCodecCannotEncodeFailsTheStepWithoutRunningItAgain) {
  std::atomic<int> charges{0};
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}, .retries = 4},
                                    [&](Context& ctx, const Event&) -> Task<void> {
                                      co_await ctx.run("charge-card", [&] {
                                        ++charges;
                                        return nlohmann::json{{"note", std::string("caf\xe9")}};
                                      });
                                    })
                    .ok());
  });
  RunInfo info = wait(send_one({.name = "go"}));
  EXPECT_EQ(info.status, RunStatus::kFailed);
  EXPECT_EQ(charges.load(), 1);
  EXPECT_TRUE(
      info.error.starts_with("\"charge-card\" failed: the step's body returned, but its "
                             "value's Codec could not encode it"))
      << info.error;
  EXPECT_TRUE(info.error.ends_with("(attempt 1, not retried)")) << info.error;
}

TEST_F(EngineTest, RetryAfterWaitsTheGivenTime) {
  std::atomic<int> calls{0};
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [&](Context& ctx, const Event&) -> Task<int> {
                                      co_return co_await ctx.run("rate-limited", [&]() -> int {
                                        if (++calls == 1) {
                                          throw RetryAfterError(std::chrono::minutes(10), "429");
                                        }
                                        return 1;
                                      });
                                    })
                    .ok());
  });
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  clock_->advance(9min);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(calls.load(), 1);
  clock_->advance(2min);
  EXPECT_EQ(wait(id).status, RunStatus::kCompleted);
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(EngineTest, InvokeReturnsTheChildsOutputOrThrowsItsFailure) {
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "double"},
                                    [](Context& ctx, const Event& ev) -> Task<nlohmann::json> {
                                      auto n = nlohmann::json::parse(ev.data)["n"].get<int>();
                                      co_return co_await ctx.run("mul", [&] {
                                        return nlohmann::json{{"n", n * 2}};
                                      });
                                    })
                    .ok());
    ASSERT_TRUE(e.register_function({.id = "broken", .retries = 0},
                                    [](Context& ctx, const Event&) -> Task<int> {
                                      co_return co_await ctx.run("x", []() -> int {
                                        throw std::runtime_error("child broke");
                                      });
                                    })
                    .ok());
    ASSERT_TRUE(e.register_function({.id = "parent", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<std::string> {
                                      auto r = co_await ctx.invoke<nlohmann::json>(
                                          "double-it",
                                          {.function = "double", .data = R"({"n":21})"});
                                      std::string failure;
                                      try {
                                        co_await ctx.invoke("try-broken", {.function = "broken"});
                                      } catch (const StepError& e) {
                                        failure = e.what();
                                      }
                                      co_return std::to_string(r["n"].get<int>()) + "|" + failure;
                                    })
                    .ok());
  });
  RunInfo info = wait(send_one({.name = "go"}));
  EXPECT_EQ(info.status, RunStatus::kCompleted);
  EXPECT_EQ(info.output.substr(0, 3), "42|");
  EXPECT_NE(info.output.find("child broke"), std::string::npos) << info.output;
}

TEST_F(EngineTest, SendEventStartsOtherFunctionsOnceEvenAcrossReplay) {
  std::atomic<int> notified{0};
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "producer", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<std::string> {
                                      auto id = co_await ctx.send_event(
                                          "notify", {.name = "user/notified", .data = "{}"});
                                      co_await ctx.sleep("after", 1h);
                                      co_return id;
                                    })
                    .ok());
    ASSERT_TRUE(e.register_function({.id = "consumer", .triggers = {on_event("user/notified")}},
                                    [&](Context& ctx, const Event&) -> Task<void> {
                                      co_await ctx.run("count", [&] { ++notified; });
                                    })
                    .ok());
  };
  start(setup);
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping && notified == 1; }));
  stop();
  start(setup);  // the producer replays past send_event: no second event
  clock_->advance(2h);
  RunInfo info = wait(id);
  EXPECT_EQ(info.status, RunStatus::kCompleted);
  EXPECT_FALSE(info.output.empty());
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(notified.load(), 1);
}

TEST_F(EngineTest, DuplicateEventIdsAreAcceptedOnce) {
  std::atomic<int> runs{0};
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("pay")}},
                                    [&](Context& ctx, const Event&) -> Task<void> {
                                      co_await ctx.run("once", [&] { ++runs; });
                                    })
                    .ok());
  });
  auto first = engine_->send({.name = "pay", .id = "payment-1"});
  auto second = engine_->send({.name = "pay", .id = "payment-1"});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(second->duplicate);
  EXPECT_TRUE(second->runs.empty());
  wait(first->runs[0]);
  // The window survives a restart (it is rebuilt from the log) and ends after 24 h.
  stop();
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("pay")}},
                                    [&](Context& ctx, const Event&) -> Task<void> {
                                      co_await ctx.run("once", [&] { ++runs; });
                                    })
                    .ok());
  });
  auto third = engine_->send({.name = "pay", .id = "payment-1"});
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->duplicate);
  clock_->advance(25h);
  auto fourth = engine_->send({.name = "pay", .id = "payment-1"});
  ASSERT_TRUE(fourth.ok());
  EXPECT_FALSE(fourth->duplicate);
  wait(fourth->runs[0]);
  EXPECT_EQ(runs.load(), 2);
}

// wait_run returns as the run moves to the finished runs, a moment before it leaves the table of
// unfinished ones: cancel() then appended a RunCancelled and returned OK for a completed run
// (140 times in 200). Its status decides now.
TEST_F(EngineTest, CancelOfARunThatWaitRunSawFinishIsRefusedEveryTime) {
  start([](Engine& e) {
    ASSERT_TRUE(
        e.register_function({.id = "f", .triggers = {on_event("go")}},
                            [](Context&, const Event&) -> Task<std::string> { co_return "done"; })
            .ok());
  });
  for (int i = 0; i < 200; ++i) {
    const RunId id = send_one({.name = "go"});
    ASSERT_EQ(wait(id).status, RunStatus::kCompleted);
    const Status st = engine_->cancel(id, "too late");
    ASSERT_EQ(st.code(), StatusCode::kInvalidArgument) << "round " << i << ": " << st.to_string();
    EXPECT_EQ(st.message(), "run " + std::to_string(id) + " already finished (completed)");
  }
}

// shutdown() waits for the workers: called from a step it waited for itself (it threw
// std::system_error "Resource deadlock avoided" and left the engine half stopped). It is refused,
// and nothing stops.
TEST_F(EngineTest, ShutdownFromAStepIsRefusedAndStopsNothing) {
  Status from_step;
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [&](Context& ctx, const Event&) -> Task<int> {
                                      co_return co_await ctx.run("stop-it", [&] {
                                        from_step = engine_->shutdown();
                                        return 1;
                                      });
                                    })
                    .ok());
  });
  EXPECT_EQ(wait(send_one({.name = "go"})).status, RunStatus::kCompleted);
  EXPECT_EQ(from_step.code(), StatusCode::kInvalidArgument) << from_step.to_string();
  EXPECT_TRUE(testing::contains(from_step.message(), "engine's own thread"))
      << from_step.to_string();
  EXPECT_EQ(wait(send_one({.name = "go"})).status, RunStatus::kCompleted);  // still running
}

// invoke<int> of a function that returns text: the decode error alone ("recorded value is not a
// number of this type") named no operation. It is a StepError naming the invoke, which the
// function may catch.
TEST_F(EngineTest, ARecordedValueOfTheWrongTypeIsAStepErrorNamingTheOperation) {
  start([](Engine& e) {
    ASSERT_TRUE(
        e.register_function({.id = "child"}, [](Context&, const Event&) -> Task<std::string> {
           co_return "not a number";
         }).ok());
    ASSERT_TRUE(e.register_function({.id = "parent", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<std::string> {
                                      try {
                                        const int n = co_await ctx.invoke<int>(
                                            "ask-child", {.function = "child"});
                                        co_return std::to_string(n);
                                      } catch (const StepError& e) {
                                        co_return e.step_id() + ": " + e.what();
                                      }
                                    })
                    .ok());
  });
  const RunInfo info = wait(send_one({.name = "go"}));
  ASSERT_EQ(info.status, RunStatus::kCompleted) << info.error;
  const std::string out = Codec<std::string>::decode(info.output);
  EXPECT_TRUE(
      out.starts_with("ask-child: the recorded value of \"ask-child\" does not decode as "
                      "the type the code asks for: "))
      << out;
}

TEST_F(EngineTest, ChangedStepOrderIsReportedAsNonDeterminism) {
  bool changed = false;
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [&](Context& ctx, const Event&) -> Task<int> {
                                      co_await ctx.run(changed ? "renamed" : "original",
                                                       [] { return 1; });
                                      co_await ctx.sleep("nap", 1h);
                                      co_return 2;
                                    })
                    .ok());
  };
  start(setup);
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  stop();
  changed = true;
  start(setup);
  RunInfo info = wait(id);
  EXPECT_EQ(info.status, RunStatus::kFailed);
  EXPECT_NE(info.error.find("non-determinism at position 0"), std::string::npos) << info.error;
  EXPECT_NE(info.error.find("renamed"), std::string::npos) << info.error;
  EXPECT_NE(info.error.find("original"), std::string::npos) << info.error;
}

TEST_F(EngineTest, CancelStopsAParkedRun) {
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<void> {
                                      co_await ctx.sleep("forever", 24h * 365);
                                    })
                    .ok());
  });
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  ASSERT_TRUE(engine_->cancel(id, "user asked").ok());
  RunInfo info = wait(id);
  EXPECT_EQ(info.status, RunStatus::kCancelled);
  EXPECT_EQ(info.error, "user asked");
  EXPECT_EQ(engine_->cancel(id).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->cancel(987654).code(), StatusCode::kNotFound);
}

TEST_F(EngineTest, LimitsGiveClearErrorsAndLoseNothing) {
  options_.steps_per_run_max = 3;
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "big", .triggers = {on_event("big")}},
                                    [](Context& ctx, const Event&) -> Task<std::string> {
                                      co_return co_await ctx.run(
                                          "huge", [] { return std::string(100 << 10, 'x'); });
                                    })
                    .ok());
    ASSERT_TRUE(e.register_function({.id = "long", .triggers = {on_event("long")}},
                                    [](Context& ctx, const Event&) -> Task<void> {
                                      for (int i = 0; i < 10; ++i) {
                                        co_await ctx.run("s", [] { return 0; });
                                      }
                                    })
                    .ok());
  });
  // An event above event_bytes_max is refused; bad JSON too; nothing is started.
  Event huge{.name = "big", .data = "{\"x\":\"" + std::string(70 << 10, 'y') + "\"}"};
  EXPECT_EQ(engine_->send(huge).status().code(), StatusCode::kLimitExceeded);
  EXPECT_EQ(engine_->send({.name = "big", .data = "not json"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->send({.name = ""}).status().code(), StatusCode::kInvalidArgument);
  // A name that is itself over the limit is quoted by its start only (the message held it whole).
  const Status long_name = engine_->send({.name = std::string(1 << 20, 'n')}).status();
  EXPECT_EQ(long_name.code(), StatusCode::kLimitExceeded);
  EXPECT_LT(long_name.message().size(), 400u);
  EXPECT_NE(long_name.message().find("1048576 bytes in all"), std::string::npos);
  EXPECT_NE(long_name.message().find("event_bytes_max"), std::string::npos);
  const Status bad_data =
      engine_->send({.name = std::string(20'000, 'n'), .data = "not json"}).status();
  EXPECT_EQ(bad_data.code(), StatusCode::kInvalidArgument);
  EXPECT_LT(bad_data.message().size(), 400u);
  RunInfo big = wait(send_one({.name = "big"}));
  EXPECT_EQ(big.status, RunStatus::kFailed);
  EXPECT_NE(big.error.find("step_output_bytes_max"), std::string::npos) << big.error;
  RunInfo lng = wait(send_one({.name = "long"}));
  EXPECT_EQ(lng.status, RunStatus::kFailed);
  EXPECT_NE(lng.error.find("steps_per_run_max"), std::string::npos) << lng.error;
  EXPECT_EQ(lng.steps, 3u);
}

TEST_F(EngineTest, RunsOfAnUnregisteredFunctionWaitForItsRegistration) {
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<void> {
                                      co_await ctx.sleep("nap", 1h);
                                    })
                    .ok());
  });
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  stop();
  start([](Engine&) {});  // a deploy that forgot the function
  EXPECT_EQ(engine_->recovery().runs_of_unknown_functions, 1u);
  clock_->advance(2h);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(status_of(id), RunStatus::kSleeping);
  stop();
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<void> {
                                      co_await ctx.sleep("nap", 1h);
                                    })
                    .ok());
  });
  EXPECT_EQ(wait(id).status, RunStatus::kCompleted);
}

TEST_F(EngineTest, ListRunsFiltersByFunctionAndStatus) {
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "quick", .triggers = {on_event("q")}},
                                    [](Context&, const Event&) -> Task<void> { co_return; })
                    .ok());
    ASSERT_TRUE(e.register_function(
                     {.id = "slow", .triggers = {on_event("s")}},
                     [](Context& ctx, const Event&) -> Task<void> { co_await ctx.sleep("z", 1h); })
                    .ok());
  });
  const RunId q = send_one({.name = "q"});
  const RunId s = send_one({.name = "s"});
  wait(q);
  ASSERT_TRUE(eventually([&] { return status_of(s) == RunStatus::kSleeping; }));
  auto sleeping = engine_->list_runs({.status = RunStatus::kSleeping}).runs;
  ASSERT_EQ(sleeping.size(), 1u);
  EXPECT_EQ(sleeping[0].id, s);
  auto quick = engine_->list_runs({.function_id = "quick"}).runs;
  ASSERT_EQ(quick.size(), 1u);
  EXPECT_EQ(quick[0].status, RunStatus::kCompleted);
}

TEST_F(EngineTest, ApiMisuseIsReported) {
  auto engine = Engine::create(options_);
  EXPECT_EQ(engine->send({.name = "x"}).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(
      engine
          ->register_function({.id = "f"}, [](Context&, const Event&) -> Task<void> { co_return; })
          .ok());
  EXPECT_EQ(
      engine
          ->register_function({.id = "f"}, [](Context&, const Event&) -> Task<void> { co_return; })
          .code(),
      StatusCode::kAlreadyExists);
  EXPECT_EQ(
      engine->register_function({.id = ""}, [](Context&, const Event&) -> Task<void> { co_return; })
          .code(),
      StatusCode::kInvalidArgument);
  ASSERT_TRUE(engine->start().ok());
  EXPECT_EQ(engine
                ->register_function({.id = "late"},
                                    [](Context&, const Event&) -> Task<void> { co_return; })
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(engine->start().ok());
  ASSERT_TRUE(engine->shutdown().ok());
  EXPECT_EQ(engine->send({.name = "x"}).status().code(), StatusCode::kClosed);
}

}  // namespace
}  // namespace cairn
