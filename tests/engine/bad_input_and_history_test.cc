// What the engine does with input it cannot record and with history the code no longer matches:
// every input that ends up in a record has a limit checked before it is recorded (the run fails,
// or the call is refused, naming the limit: nothing hangs); error text is cut rather than
// refused; a run whose code ends before its recorded history does is a non-determinism error; a
// wait that could never match fails at once; a timed-out wait never receives a later event; the
// time a function reads is recorded; send() of several events is all or nothing; and what send()
// returns is visible to the next query.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "cairn/errors.h"
#include "cairn/log/log.h"
#include "engine_fixture.h"
#include "record_builder.h"

namespace cairn {
namespace {

using testing::contains;
using testing::EngineTest;
using namespace std::chrono_literals;

// A run that would pass a limit fails, naming it, instead of waiting forever for a record the log
// refused (the engine used to drop append's kLimitExceeded).
TEST_F(EngineTest, InvokeDataOverTheLimitFailsTheRunNamingTheLimit) {
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "child"}, [](Context&, const Event&) -> Task<int> {
                   co_return 1;
                 }).ok());
    ASSERT_TRUE(e.register_function({.id = "parent", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<int> {
                                      const std::string data =
                                          "{\"x\":\"" + std::string(2u << 20, 'a') + "\"}";
                                      const InvokeOptions invoke{.function = "child", .data = data};
                                      co_return co_await ctx.invoke<int>("call", invoke);
                                    })
                    .ok());
  });
  const RunInfo info = wait(send_one({.name = "go"}));
  EXPECT_EQ(info.status, RunStatus::kFailed);
  EXPECT_TRUE(contains(info.error, "event_bytes_max")) << info.error;
  EXPECT_TRUE(engine_->health().ok());
}

// An event id longer than event_id_bytes_max is refused, by send() and by ctx.send_event (a
// StepError naming the limit: uncaught, it fails the run), and nothing is recorded: the dedup
// window keeps every id for a day. A log written under a larger limit still replays, ids and all.
TEST_F(EngineTest, AnEventIdOverEventIdBytesMaxIsRefusedAndAnOlderLogsLongerIdsStillReplay) {
  const std::string long_id(600, 'a');
  const std::string forwarded_id(600, 'b');
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context&, const Event&) -> Task<int> { co_return 1; })
                    .ok());
    ASSERT_TRUE(e.register_function({.id = "relay", .triggers = {on_event("relay")}},
                                    [&](Context& ctx, const Event&) -> Task<int> {
                                      co_await ctx.send_event(
                                          "forward", {.name = "forwarded", .id = forwarded_id});
                                      co_await ctx.sleep("nap", 1h);
                                      co_return 2;
                                    })
                    .ok());
  };
  options_.event_id_bytes_max = 1024;  // as an older version took any id within event_bytes_max
  start(setup);
  const RunId old_run = send_one({.name = "go", .id = long_id});
  EXPECT_EQ(wait(old_run).status, RunStatus::kCompleted);
  const RunId old_relay = send_one({.name = "relay"});
  ASSERT_TRUE(eventually([&] { return status_of(old_relay) == RunStatus::kSleeping; }));
  stop();

  options_.event_id_bytes_max = 256;
  for (const bool snapshots : {false, true}) {
    use_snapshots(snapshots);
    start(setup);
    auto old = engine_->get_run(old_run);
    ASSERT_TRUE(old.ok()) << old.status().to_string();
    EXPECT_EQ(old->status, RunStatus::kCompleted);
    EXPECT_EQ(old->event.id, long_id);
    EXPECT_EQ(status_of(old_relay), RunStatus::kSleeping);
    stop();
  }

  start(setup);
  const uint64_t runs_before = engine_->stats().runs_created;
  const Status refused = engine_->send({.name = "go", .id = std::string(257, 'c')}).status();
  EXPECT_EQ(refused.code(), StatusCode::kLimitExceeded);
  EXPECT_TRUE(contains(refused.message(), "its id has 257 bytes; event_id_bytes_max is 256"))
      << refused.to_string();
  EXPECT_EQ(engine_->send({.name = "go", .id = long_id}).status().code(),
            StatusCode::kLimitExceeded);
  EXPECT_EQ(engine_->stats().runs_created, runs_before);
  // At the limit it is taken, and counts for deduplication as any id does.
  const std::string at_limit(256, 'd');
  EXPECT_EQ(wait(send_one({.name = "go", .id = at_limit})).status, RunStatus::kCompleted);
  auto again = engine_->send({.name = "go", .id = at_limit});
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_TRUE(again->duplicate);

  // The run recorded its send under the old limit: it goes on from its history.
  clock_->advance(2h);
  EXPECT_EQ(wait(old_relay).status, RunStatus::kCompleted);
  // A new one sends live, and its run fails naming the limit.
  const RunInfo relay = wait(send_one({.name = "relay"}));
  EXPECT_EQ(relay.status, RunStatus::kFailed);
  EXPECT_TRUE(contains(relay.error, "event_id_bytes_max is 256")) << relay.error;

  stop();
  EngineOptions o = options_;
  o.event_id_bytes_max = 0;
  const Status st = Engine::create(o)->start();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(st.message(), "event_id_bytes_max must be positive")) << st.to_string();
}

TEST_F(EngineTest, HugeErrorTextIsCutAndTheFailureIsStillRecorded) {
  std::atomic<int> attempts{0};
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}, .retries = 1},
                                    [&](Context& ctx, const Event&) -> Task<int> {
                                      co_return co_await ctx.run("boom", [&]() -> int {
                                        ++attempts;
                                        throw std::runtime_error(std::string(2u << 20, 'e'));
                                      });
                                    })
                    .ok());
  };
  start(setup);
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(
      eventually([&] { return attempts.load() == 1 && status_of(id) == RunStatus::kSleeping; }));
  clock_->advance(10s);  // the retry
  const RunInfo info = wait(id);
  EXPECT_EQ(info.status, RunStatus::kFailed);
  EXPECT_EQ(attempts.load(), 2);
  EXPECT_LE(info.error.size(), options_.error_bytes_max + 200);
  EXPECT_TRUE(contains(info.error, "cut")) << info.error.substr(0, 200);
  // The cut text is what the log holds: a restart reads the same failure back.
  stop();
  start(setup);
  EXPECT_EQ(engine_->get_run(id)->status, RunStatus::kFailed);
}

TEST_F(EngineTest, HugeCancelReasonIsCut) {
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<int> {
                                      co_await ctx.sleep("nap", 1h);
                                      co_return 1;
                                    })
                    .ok());
  });
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  ASSERT_TRUE(engine_->cancel(id, std::string(2u << 20, 'r')).ok());
  const RunInfo info = wait(id);
  EXPECT_EQ(info.status, RunStatus::kCancelled);
  EXPECT_LE(info.error.size(), options_.error_bytes_max);
  EXPECT_TRUE(contains(info.error, "cut")) << info.error.substr(0, 200);
}

TEST_F(EngineTest, StepIdOverTheLimitThrowsStepErrorNamingIt) {
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<std::string> {
                                      const std::string id(5000, 'i');
                                      try {
                                        co_await ctx.run(id, [] { return 1; });
                                      } catch (const StepError& e) {
                                        co_return std::string(e.what());
                                      }
                                      co_return std::string("no error");
                                    })
                    .ok());
  });
  const RunInfo info = wait(send_one({.name = "go"}));
  ASSERT_EQ(info.status, RunStatus::kCompleted) << info.error;
  EXPECT_TRUE(contains(info.output, "step_id_bytes_max")) << info.output;
}

// A ctx.send_event over event_bytes_max or event_id_bytes_max throws a StepError the function can
// catch, as invoke() and wait_for_event() do (it used to fail the run for good), and records
// nothing: a restart replays the same verdict.
TEST_F(EngineTest, SendEventOverItsLimitsThrowsAStepErrorTheFunctionCanCatch) {
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "sink", .triggers = {on_event("sunk")}},
                                    [](Context&, const Event&) -> Task<int> { co_return 1; })
                    .ok());
    ASSERT_TRUE(
        e.register_function({.id = "f", .triggers = {on_event("go")}},
                            [](Context& ctx, const Event&) -> Task<std::string> {
                              std::string out;
                              const std::string big = "{\"a\":\"" + std::string(2000, 'x') + "\"}";
                              const std::string long_id(300, 'i');
                              for (const OutgoingEvent& event :
                                   {OutgoingEvent{.name = "sunk", .data = big},
                                    OutgoingEvent{.name = "sunk", .id = long_id}}) {
                                try {
                                  co_await ctx.send_event("send", event);
                                  out += "sent;";
                                } catch (const StepError& e) {
                                  out += std::string(e.what()) + ";";
                                }
                              }
                              co_await ctx.send_event("small", {.name = "sunk", .id = "ok"});
                              co_await ctx.sleep("nap", 1h);
                              co_return out;
                            })
            .ok());
  };
  options_.event_bytes_max = 1024;
  start(setup);
  const RunId run = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(run) == RunStatus::kSleeping; }));
  EXPECT_EQ(engine_->stats().runs_created, 2u) << "only the small event started a run";
  stop();
  start(setup);
  clock_->advance(2h);
  const RunInfo info = wait(run);
  ASSERT_EQ(info.status, RunStatus::kCompleted) << info.error;
  EXPECT_TRUE(contains(info.output, "event_bytes_max is 1024")) << info.output;
  EXPECT_TRUE(contains(info.output, "event_id_bytes_max is 256")) << info.output;
  EXPECT_FALSE(contains(info.output, "sent;")) << info.output;
  EXPECT_EQ(engine_->stats().runs_created, 2u) << "the replay sent nothing again";
  auto history = engine_->run_history(run);
  ASSERT_TRUE(history.ok()) << history.status().to_string();
  size_t sends = 0;
  for (const HistoryEntry& h : *history) sends += h.kind == HistoryEntry::Kind::kEventSent ? 1 : 0;
  EXPECT_EQ(sends, 1u);
}

// A recorded operation is replayed as it was recorded even when a limit has since been lowered
// below it: a step id over step_id_bytes_max (also a step whose retry comes due after the
// restart), a wait over event_bytes_max, an operation past steps_per_run_max. The check refused
// them in replay, the run's code went on to its next operation, and the run failed as
// non-deterministic.
TEST_F(EngineTest, ARecordedOperationReplaysAfterItsLimitWasLowered) {
  const std::string long_id(300, 's');
  const std::string value = "\"" + std::string(1500, 'v') + "\"";
  std::atomic<int> attempts{0};
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function(
                     {.id = "r", .triggers = {on_event("retry")}, .retries = 1, .backoff_base = 1h},
                     [&](Context& ctx, const Event&) -> Task<int> {
                       co_return co_await ctx.run(long_id, [&]() -> int {
                         if (++attempts == 1) throw std::runtime_error("not yet");
                         return 8;
                       });
                     })
                    .ok());
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [&](Context& ctx, const Event&) -> Task<int> {
                                      const int n = co_await ctx.run(long_id, [] { return 7; });
                                      co_await ctx.sleep("nap", 1h);
                                      co_return n;
                                    })
                    .ok());
    ASSERT_TRUE(e.register_function({.id = "w", .triggers = {on_event("wait")}},
                                    [&](Context& ctx, const Event&) -> Task<std::string> {
                                      try {
                                        co_await ctx.wait_for_event(
                                            "approval", {.event = "approve",
                                                         .match = "data.v",
                                                         .value = std::string_view(value),
                                                         .timeout = 1h});
                                      } catch (const StepError& e) {
                                        co_return std::string("refused: ") + e.what();
                                      }
                                      co_return "timed out or matched";
                                    })
                    .ok());
  };
  options_.step_id_bytes_max = 1024;
  start(setup);
  const RunId stepper = send_one({.name = "go"});
  const RunId waiter = send_one({.name = "wait"});
  const RunId retrier = send_one({.name = "retry"});
  ASSERT_TRUE(eventually([&] {
    return status_of(stepper) == RunStatus::kSleeping && status_of(waiter) == RunStatus::kWaiting &&
           attempts == 1 && status_of(retrier) == RunStatus::kSleeping;
  }));
  stop();
  options_.step_id_bytes_max = 256;
  options_.event_bytes_max = 1024;
  options_.steps_per_run_max = 1;  // the stepper's sleep is its second operation
  for (const bool snapshots : {false, true}) {
    use_snapshots(snapshots);
    start(setup);
    EXPECT_EQ(status_of(stepper), RunStatus::kSleeping) << "snapshots " << snapshots;
    EXPECT_EQ(status_of(waiter), RunStatus::kWaiting) << "snapshots " << snapshots;
    stop();
  }
  start(setup);
  clock_->advance(2h);
  const RunInfo s = wait(stepper);
  EXPECT_EQ(s.status, RunStatus::kCompleted) << s.error;
  EXPECT_EQ(s.output, "7");
  const RunInfo w = wait(waiter);
  EXPECT_EQ(w.status, RunStatus::kCompleted) << w.error;
  EXPECT_EQ(w.output, "timed out or matched");
  const RunInfo r = wait(retrier);
  EXPECT_EQ(r.status, RunStatus::kCompleted) << r.error;
  EXPECT_EQ(r.output, "8");
  EXPECT_EQ(attempts, 2);
  // A new run is held to the lowered limit.
  const RunInfo fresh = wait(send_one({.name = "go"}));
  EXPECT_EQ(fresh.status, RunStatus::kFailed);
  EXPECT_TRUE(contains(fresh.error, "step_id_bytes_max is 256")) << fresh.error;
}

TEST_F(EngineTest, OptionsThatDoNotFitALogRecordAreRefusedAtStart) {
  options_.error_bytes_max = options_.log.record_bytes_max;
  engine_ = Engine::create(options_);
  const Status st = engine_->start();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(st.message(), "error_bytes_max")) << st.to_string();
  engine_.reset();
}

// More workers than the limit: refused at start, naming it, before any thread is made (20,000
// took start() over a minute; with a cap on memory the first refused thread aborted the process).
TEST_F(EngineTest, MoreWorkersThanTheLimitAreRefusedAtStart) {
  options_.workers = 1025;
  engine_ = Engine::create(options_);
  const Status st = engine_->start();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(st.message(), "workers must be at most 1024")) << st.to_string();
  engine_.reset();
}

// Options that mean nothing are refused at start, naming the option, before anything is made on
// disk: an empty dir (the log would have gone into the working directory), negative windows (read
// as 0), no snapshot kept (read as 1), snapshots every 0 records or bytes (one per batch).
TEST_F(EngineTest, OptionsThatMeanNothingAreRefusedAtStartNamingThem) {
  struct Case {
    const char* option;
    std::function<void(EngineOptions&)> set;
  };
  const std::vector<Case> cases = {
      {"dir", [](EngineOptions& o) { o.dir = ""; }},
      {"dedup_window", [](EngineOptions& o) { o.dedup_window = -1ms; }},
      {"history_window", [](EngineOptions& o) { o.history_window = -1h; }},
      {"snapshots_kept", [](EngineOptions& o) { o.snapshots_kept = 0; }},
      {"snapshot_every_records", [](EngineOptions& o) { o.snapshot_every_records = 0; }},
      {"snapshot_every_bytes", [](EngineOptions& o) { o.snapshot_every_bytes = 0; }},
      {"snapshot_bytes_max", [](EngineOptions& o) { o.snapshot_bytes_max = 0; }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.option);
    EngineOptions o = options_;
    o.dir = options_.dir / "refused";
    c.set(o);
    auto engine = Engine::create(o);
    const Status st = engine->start();
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
    EXPECT_TRUE(contains(st.message(), c.option)) << st.to_string();
    EXPECT_FALSE(std::filesystem::exists(options_.dir / "refused"));
  }
  // With snapshots off, their options are not read: the defaults of a user who turned them off.
  EngineOptions off = options_;
  off.snapshots = false;
  off.snapshots_kept = 0;
  auto engine = Engine::create(off);
  EXPECT_TRUE(engine->start().ok());
}

// With snapshots on, limits under which one unfinished run could not fit a snapshot frame (64 MiB)
// are refused at start: such a run made every snapshot fail while it lived, and retention, which
// waits for snapshots, never freed the disk. With snapshots off the same limits are fine.
TEST_F(EngineTest, LimitsARunCouldNotSnapshotUnderAreRefusedWithSnapshotsOn) {
  EngineOptions o = options_;
  o.log.record_bytes_max = 16u << 20;
  o.log.batch_bytes_max = 17u << 20;
  o.log.segment_bytes = 32u << 20;
  o.log.staging_bytes = 64u << 20;
  o.event_bytes_max = 14u << 20;  // 3 × 14 + 14 + 9 MiB and more: past 64 MiB
  o.step_output_bytes_max = 14u << 20;
  o.snapshots = true;
  auto engine = Engine::create(o);
  const Status st = engine->start();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
  EXPECT_TRUE(contains(st.message(), "event_bytes_max")) << st.to_string();
  EXPECT_TRUE(contains(st.message(), "snapshots = false")) << st.to_string();
  EXPECT_FALSE(std::filesystem::exists(o.dir / "log"));
  engine.reset();

  o.event_bytes_max = 12u << 20;  // 3 × 12 + 14 + 9 MiB and the errors' 48 KiB: fits
  engine = Engine::create(o);
  const Status fits = engine->start();
  EXPECT_TRUE(fits.ok()) << fits.to_string();
  EXPECT_TRUE(engine->shutdown().ok());
  engine.reset();

  o.event_bytes_max = 14u << 20;
  o.snapshots = false;
  engine = Engine::create(o);
  const Status off = engine->start();
  EXPECT_TRUE(off.ok()) << off.to_string();
}

// A trigger or cancel_on naming an event longer than any event may be (event_bytes_max, known at
// start) can never match: start() refuses it, naming the function and quoting the name's start
// only. Before, the function registered and silently never ran. A trailing "/*" counts as its
// prefix, which longer names may extend.
TEST_F(EngineTest, EventNamesNoEventCanMatchAreRefusedAtStart) {
  options_.event_bytes_max = 1024;
  const std::string long_name(2000, 'n');
  struct Case {
    const char* id;
    FunctionOptions fn;
  };
  const std::vector<Case> cases = {
      {"by_trigger", {.id = "by_trigger", .triggers = {on_event(long_name)}}},
      {"by_prefix", {.id = "by_prefix", .triggers = {on_event(long_name + "/*")}}},
      {"by_cancel",
       {.id = "by_cancel", .triggers = {on_event("go")}, .cancel_on = {{.event = long_name}}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.id);
    EngineOptions o = options_;
    o.dir = options_.dir / c.id;
    auto engine = Engine::create(o);
    ASSERT_TRUE(engine
                    ->register_function(
                        c.fn, [](Context&, const Event&) -> Task<std::string> { co_return "ran"; })
                    .ok());
    const Status st = engine->start();
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
    EXPECT_TRUE(contains(st.message(), std::string("function ") + c.id)) << st.to_string();
    EXPECT_TRUE(contains(st.message(), "event_bytes_max is 1024")) << st.to_string();
    EXPECT_LT(st.message().size(), 400u) << st.to_string();
  }
  // A function id over its limit is quoted by its start only (it was echoed whole).
  auto engine_of_long_id = Engine::create(options_);
  const Status long_id = engine_of_long_id->register_function(
      {.id = std::string(100'000, 'i')},
      [](Context&, const Event&) -> Task<std::string> { co_return "ran"; });
  EXPECT_EQ(long_id.code(), StatusCode::kInvalidArgument);
  EXPECT_LT(long_id.message().size(), 400u) << long_id.message().substr(0, 400);
  // At the limit is fine, and "x/*" of exactly the limit plus the star.
  EngineOptions o = options_;
  o.dir = options_.dir / "fits";
  auto engine = Engine::create(o);
  ASSERT_TRUE(
      engine
          ->register_function({.id = "fits",
                               .triggers = {on_event(std::string(1024, 'n')),
                                            on_event(std::string(1023, 'n') + "/*")}},
                              [](Context&, const Event&) -> Task<std::string> { co_return "ran"; })
          .ok());
  EXPECT_TRUE(engine->start().ok());
}

// runs_active_max: a send past it is kUnavailable naming the limit (it may pass later, unlike a
// kLimitExceeded), nothing is recorded for it, and a run that wait_run saw finish no longer counts:
// the next send is taken at once (the count used to drop only after waiters were woken, so a send
// right after wait_run was sometimes refused).
TEST_F(EngineTest, AFullEngineRefusesNewRunsUntilOneFinishes) {
  options_.runs_active_max = 1;
  start([](Engine& e) {
    ASSERT_TRUE(
        e.register_function({.id = "f", .triggers = {on_event("go")}},
                            [](Context&, const Event&) -> Task<std::string> { co_return "done"; })
            .ok());
    ASSERT_TRUE(e.register_function({.id = "parked", .triggers = {on_event("park")}},
                                    [](Context& ctx, const Event&) -> Task<std::string> {
                                      co_await ctx.sleep("long", 1h);
                                      co_return "woke";
                                    })
                    .ok());
  });
  for (int i = 0; i < 300; ++i) {
    const RunId id = send_one({.name = "go"});
    ASSERT_NE(id, 0u) << "send " << i << " after the previous run finished";
    ASSERT_EQ(wait(id).status, RunStatus::kCompleted);
  }
  const RunId parked = send_one({.name = "park"});
  ASSERT_NE(parked, 0u);
  const auto refused = engine_->send(Event{.name = "go"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable) << refused.status().to_string();
  EXPECT_TRUE(contains(refused.status().message(), "runs_active_max (1)"))
      << refused.status().to_string();
  EXPECT_EQ(engine_->stats().runs_active, 1u);
}

// An event that would start more runs than runs_active_max itself never fits, whatever finishes:
// kLimitExceeded, not kUnavailable's "retry later", which a client honouring 503 and Retry-After
// followed for ever.
TEST_F(EngineTest, AnEventStartingMoreRunsThanTheLimitIsRefusedForGood) {
  options_.runs_active_max = 1;
  start([](Engine& e) {
    for (const char* id : {"a", "b"}) {
      ASSERT_TRUE(
          e.register_function({.id = id, .triggers = {on_event("go")}},
                              [](Context&, const Event&) -> Task<std::string> { co_return ""; })
              .ok());
    }
  });
  const auto refused = engine_->send(Event{.name = "go"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kLimitExceeded) << refused.status().to_string();
  EXPECT_TRUE(contains(refused.status().message(), "this would start 2 runs"))
      << refused.status().to_string();
  EXPECT_EQ(engine_->stats().runs_active, 0u);
  EXPECT_EQ(engine_->stats().events, 0u);
}

// "blocker": a run that holds one of runs_active_max's places for a day (sent "block", it sleeps).
void register_blocker(Engine& e) {
  ASSERT_TRUE(e.register_function({.id = "blocker", .triggers = {on_event("block")}},
                                  [](Context& ctx, const Event&) -> Task<std::string> {
                                    co_await ctx.sleep("long", 24h);
                                    co_return "woke";
                                  })
                  .ok());
}

// A ctx.send_event that finds no room (runs_active_max) is not a failure of its run: it is
// recorded as deferred, waits as a step's retry does (through restarts, snapshot or not: a
// snapshot holding it is format version 3, which older builds refuse), is tried again, and sends
// once there is room. Before, the run failed for good.
TEST_F(EngineTest, ASendEventAtRunsActiveMaxWaitsForRoomAndSendsOnce) {
  options_.runs_active_max = 2;
  auto setup = [](Engine& e) {
    register_blocker(e);
    ASSERT_TRUE(
        e.register_function({.id = "parent", .triggers = {on_event("parent")}, .retries = 5},
                            [](Context& ctx, const Event&) -> Task<std::string> {
                              co_return co_await ctx.send_event("spawn", {.name = "child"});
                            })
            .ok());
    ASSERT_TRUE(
        e.register_function({.id = "child", .triggers = {on_event("child")}},
                            [](Context&, const Event&) -> Task<std::string> { co_return "ok"; })
            .ok());
  };
  auto deferred = [&](RunId run) {
    std::vector<HistoryEntry> out;
    auto h = engine_->run_history(run);
    if (!h.ok()) return out;
    for (const HistoryEntry& e : *h) {
      if (e.kind == HistoryEntry::Kind::kSendDeferred) out.push_back(e);
    }
    return out;
  };
  auto children = [&] { return engine_->list_runs({.function_id = "child"}).runs.size(); };
  start(setup);
  const RunId blocker = send_one({.name = "block"});
  const RunId parent = send_one({.name = "parent"});
  ASSERT_TRUE(eventually([&] { return deferred(parent).size() == 1; }));
  const HistoryEntry first = deferred(parent).front();
  EXPECT_EQ(first.step_id, "spawn");
  EXPECT_EQ(first.attempt, 1u);
  EXPECT_TRUE(contains(first.value, "runs_active_max (2)")) << first.value;
  EXPECT_NE(first.deadline, TimePoint{});
  EXPECT_EQ(status_of(parent), RunStatus::kSleeping);
  // Tried again when its time comes, and deferred again while there is still no room.
  clock_->advance(10s);
  ASSERT_TRUE(eventually([&] { return deferred(parent).size() == 2; }));
  EXPECT_EQ(deferred(parent).back().attempt, 2u);
  for (const bool snapshots : {false, true}) {
    stop();
    use_snapshots(snapshots);
    start(setup);
    EXPECT_EQ(status_of(parent), RunStatus::kSleeping) << "snapshots " << snapshots;
    EXPECT_EQ(deferred(parent).size(), 2u) << "snapshots " << snapshots;
    EXPECT_EQ(children(), 0u);
    // Counted apart from step failures, the same after a replay as from a snapshot.
    EXPECT_EQ(engine_->stats().sends_deferred, 2u) << "snapshots " << snapshots;
    EXPECT_EQ(engine_->stats().step_failures, 0u) << "snapshots " << snapshots;
  }
  // The shutdown snapshot holds the deferred send: version 3 (bytes 8..11 of the file).
  stop();
  uint32_t version = 0;
  for (const auto& f : std::filesystem::directory_iterator(options_.dir / "snapshots")) {
    if (f.path().extension() != ".snap") continue;
    std::ifstream in(f.path(), std::ios::binary);
    char head[12] = {};
    in.read(head, sizeof head);
    uint32_t v = 0;
    std::memcpy(&v, head + 8, sizeof v);
    version = std::max(version, v);
  }
  EXPECT_EQ(version, 3u);
  start(setup);
  EXPECT_EQ(status_of(parent), RunStatus::kSleeping);
  EXPECT_EQ(engine_->stats().sends_deferred, 2u) << "loaded from the version 3 snapshot";
  ASSERT_TRUE(engine_->cancel(blocker, "make room").ok());
  EXPECT_EQ(wait(blocker).status, RunStatus::kCancelled);
  clock_->advance(10s);
  const RunInfo done = wait(parent);
  ASSERT_EQ(done.status, RunStatus::kCompleted) << done.error;
  ASSERT_TRUE(eventually([&] { return children() == 1; }));
  const RunPage kids = engine_->list_runs({.function_id = "child"});
  EXPECT_EQ(wait(kids.runs.front().id).status, RunStatus::kCompleted);
  auto history = engine_->run_history(parent);
  ASSERT_TRUE(history.ok());
  std::vector<std::string> kinds;
  for (const HistoryEntry& e : *history) kinds.emplace_back(history_kind_name(e.kind));
  EXPECT_EQ(kinds, (std::vector<std::string>{"created", "send deferred", "resumed", "send deferred",
                                             "resumed", "event sent", "completed"}));
  stop();
  start(setup);
  EXPECT_EQ(status_of(parent), RunStatus::kCompleted);
  EXPECT_EQ(children(), 1u) << "sent once, through every restart";
}

// Past its function's retries a send that finds no room throws a StepError the function may
// catch (runs that each wait for room only others' ends can make would hold the engine full for
// ever), and an event that starts as many runs as runs_active_max never fits beside its own run:
// refused at once. Both are recorded, so a restart replays the same answer.
TEST_F(EngineTest, ASendEventThatNeverFindsRoomThrowsAStepErrorTheFunctionMayCatch) {
  options_.runs_active_max = 2;
  auto sender = [](std::string event) {
    return [event](Context& ctx, const Event&) -> Task<std::string> {
      try {
        co_await ctx.send_event("spawn", {.name = event});
        co_return "sent";
      } catch (const StepError& e) {
        co_return std::string("refused: ") + e.what();
      }
    };
  };
  auto setup = [&](Engine& e) {
    register_blocker(e);
    ASSERT_TRUE(
        e.register_function({.id = "fanout", .triggers = {on_event("fanout")}}, sender("pair"))
            .ok());
    ASSERT_TRUE(
        e.register_function({.id = "giveup", .triggers = {on_event("giveup")}, .retries = 1},
                            sender("one"))
            .ok());
    for (const char* id : {"p1", "p2", "p3"}) {
      const char* trigger = std::string_view(id) == "p3" ? "one" : "pair";
      ASSERT_TRUE(
          e.register_function({.id = id, .triggers = {on_event(trigger)}},
                              [](Context&, const Event&) -> Task<std::string> { co_return ""; })
              .ok());
    }
  };
  start(setup);
  // Alone in the engine, it would start two runs beside itself: never.
  const RunId fanout = send_one({.name = "fanout"});
  const RunInfo refused = wait(fanout);
  ASSERT_EQ(refused.status, RunStatus::kCompleted) << refused.error;
  EXPECT_TRUE(contains(refused.output, "refused: ")) << refused.output;
  EXPECT_TRUE(contains(refused.output, "runs_active_max (2)")) << refused.output;
  EXPECT_TRUE(contains(refused.output, "it starts 2 runs")) << refused.output;
  // Beside a sleeping run there is no room for one more: tried twice (retries = 1), then refused.
  const RunId blocker = send_one({.name = "block"});
  const RunId giveup = send_one({.name = "giveup"});
  ASSERT_TRUE(eventually([&] {
    auto h = engine_->run_history(giveup);
    return h.ok() && std::any_of(h->begin(), h->end(), [](const HistoryEntry& e) {
             return e.kind == HistoryEntry::Kind::kSendDeferred;
           });
  }));
  clock_->advance(10s);
  const RunInfo gave_up = wait(giveup);
  ASSERT_EQ(gave_up.status, RunStatus::kCompleted) << gave_up.error;
  EXPECT_TRUE(contains(gave_up.output, "(attempt 2 of 2)")) << gave_up.output;
  auto history = engine_->run_history(giveup);
  ASSERT_TRUE(history.ok());
  std::vector<TimePoint> deadlines;
  for (const HistoryEntry& e : *history) {
    if (e.kind == HistoryEntry::Kind::kSendDeferred) deadlines.push_back(e.deadline);
  }
  ASSERT_EQ(deadlines.size(), 2u);
  EXPECT_NE(deadlines[0], TimePoint{});
  EXPECT_EQ(deadlines[1], TimePoint{}) << "the last try is not tried again";
  EXPECT_EQ(engine_->list_runs({.function_id = "p3"}).runs.size(), 0u);
  EXPECT_EQ(engine_->list_runs({.function_id = "p1"}).runs.size(), 0u);
  stop();
  start(setup);
  EXPECT_EQ(engine_->get_run(giveup)->output, gave_up.output);
  EXPECT_EQ(engine_->get_run(fanout)->output, refused.output);
  EXPECT_EQ(status_of(blocker), RunStatus::kSleeping);
}

// Limits at their extremes: a page of SIZE_MAX runs is cut (it came back empty: limit + 1
// overflowed), and a history of at most 0 entries is a wrong call, not an unknown run.
TEST_F(EngineTest, ExtremeLimitsOfQueriesAreAnsweredOrRefusedSaySo) {
  start([](Engine& e) {
    ASSERT_TRUE(
        e.register_function({.id = "f", .triggers = {on_event("go")}},
                            [](Context&, const Event&) -> Task<std::string> { co_return "done"; })
            .ok());
  });
  const RunId a = send_one({.name = "go"});
  const RunId b = send_one({.name = "go"});
  wait(a);
  wait(b);
  const RunPage page = engine_->list_runs({.limit = std::numeric_limits<size_t>::max()});
  ASSERT_EQ(page.runs.size(), 2u);
  EXPECT_EQ(page.runs[0].id, b);
  EXPECT_EQ(page.next, 0u);
  const auto none = engine_->run_history(a, 0);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument) << none.status().to_string();
  const auto one = engine_->run_history(a, 1);
  ASSERT_TRUE(one.ok()) << one.status().to_string();
  EXPECT_EQ(one->size(), 1u);
}

// HistoryLimits bound what a history read holds: each value and event's data cut to
// value_bytes_max with a note of its whole size, and no entry after the one whose values pass
// bytes_max. (The dashboard read 2,001 whole values, up to a GB, before cutting them.)
TEST_F(EngineTest, HistoryLimitsCutValuesAndStopAtTheByteBudget) {
  start([](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<std::string> {
                                      for (int i = 0; i < 5; ++i) {
                                        co_await ctx.run("s" + std::to_string(i),
                                                         [] { return std::string(10'000, 'v'); });
                                      }
                                      co_return "done";
                                    })
                    .ok());
  });
  const RunId id =
      send_one({.name = "go", .data = "{\"pad\":\"" + std::string(5'000, 'e') + "\"}"});
  ASSERT_EQ(wait(id).status, RunStatus::kCompleted);
  const auto whole = engine_->run_history(id);
  ASSERT_TRUE(whole.ok()) << whole.status().to_string();
  ASSERT_EQ(whole->size(), 7u);  // created, 5 steps, completed

  const auto cut = engine_->run_history(id, HistoryLimits{.value_bytes_max = 100});
  ASSERT_TRUE(cut.ok()) << cut.status().to_string();
  ASSERT_EQ(cut->size(), 7u);
  EXPECT_TRUE((*cut)[0].event_data_cut);
  EXPECT_LE((*cut)[0].event.data.size(), 100u);
  EXPECT_NE((*cut)[0].event.data.find("5010 bytes in all"), std::string::npos)
      << (*cut)[0].event.data;
  for (size_t i = 1; i <= 5; ++i) {
    EXPECT_TRUE((*cut)[i].value_cut) << i;
    EXPECT_LE((*cut)[i].value.size(), 100u);
    EXPECT_NE((*cut)[i].value.find("bytes in all]"), std::string::npos) << (*cut)[i].value;
  }
  EXPECT_FALSE((*cut)[6].value_cut);  // "done" is short
  EXPECT_EQ((*cut)[6].value, whole->back().value);

  // 250 bytes: the event's 100 and two steps' pass it; the entry after the one that passes it
  // is the last (it says the history went on).
  const auto budget =
      engine_->run_history(id, HistoryLimits{.value_bytes_max = 100, .bytes_max = 250});
  ASSERT_TRUE(budget.ok()) << budget.status().to_string();
  ASSERT_EQ(budget->size(), 4u);
  size_t values = 0;
  for (size_t i = 0; i + 1 < budget->size(); ++i) {
    values += (*budget)[i].value.size() + (*budget)[i].event.data.size();
  }
  EXPECT_GT(values, 250u);

  const auto tiny = engine_->run_history(id, HistoryLimits{.value_bytes_max = 10});
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(tiny.status().message().find("value_bytes_max"), std::string::npos)
      << tiny.status().to_string();
}

// Code changed from `a, b, sleep` to `a`: the recorded history goes on where the code ends.
TEST_F(EngineTest, EndingBeforeTheRecordedHistoryIsANonDeterminismError) {
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<int> {
                                      co_await ctx.run("a", [] { return 1; });
                                      co_await ctx.run("b", [] { return 2; });
                                      co_await ctx.sleep("nap", 1h);
                                      co_return 3;
                                    })
                    .ok());
  });
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  stop();
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<int> {
                                      co_await ctx.run("a", [] { return 1; });
                                      co_return 1;
                                    })
                    .ok());
  });
  const RunInfo info = wait(id);
  EXPECT_EQ(info.status, RunStatus::kFailed);
  EXPECT_TRUE(contains(info.error, "non-determinism")) << info.error;
  EXPECT_TRUE(contains(info.error, "run(\"b\")")) << info.error;
}

// The same, when the only thing left over is the pending operation (a sleep recorded, not done).
TEST_F(EngineTest, EndingBeforeAPendingRecordedOperationIsANonDeterminismError) {
  auto body = [](bool with_sleep) {
    return [with_sleep](Context& ctx, const Event&) -> Task<int> {
      co_await ctx.run("a", [] { return 1; });
      if (with_sleep) co_await ctx.sleep("nap", 1h);
      co_return 3;
    };
  };
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}}, body(true)).ok());
  });
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  stop();
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}}, body(false)).ok());
  });
  const RunInfo info = wait(id);
  EXPECT_EQ(info.status, RunStatus::kFailed);
  EXPECT_TRUE(contains(info.error, "sleep(\"nap\")")) << info.error;
}

TEST_F(EngineTest, WaitOnAFieldTheStartingEventLacksFailsAtOnce) {
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<int> {
                                      const WaitOptions wait{.event = "approved",
                                                             .match = "data.order_id"};
                                      co_await ctx.wait_for_event("approval", wait);  // no timeout
                                      co_return 1;
                                    })
                    .ok());
  });
  const RunInfo info = wait(send_one({.name = "go", .data = R"({"customer":7})"}), 10s);
  EXPECT_EQ(info.status, RunStatus::kFailed);
  EXPECT_TRUE(contains(info.error, "data.order_id")) << info.error;
  EXPECT_TRUE(contains(info.error, "no field")) << info.error;
}

// A wait that timed out is out of the wait index: a matching event sent later does not reach the
// run (which has moved on to a sleep), is not in its output, and does not disturb what it does.
TEST_F(EngineTest, TimedOutWaitNeverReceivesALaterEvent) {
  std::atomic<int> after{0};
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [&](Context& ctx, const Event&) -> Task<std::string> {
                                      const WaitOptions wait{
                                          .event = "approved", .match = "data.k", .timeout = 1s};
                                      std::optional<Event> got =
                                          co_await ctx.wait_for_event("approval", wait);
                                      co_await ctx.sleep("nap", 1h);
                                      co_await ctx.run("after", [&] { return ++after; });
                                      co_return got ? "approved: " + got->data
                                                    : std::string("timed out");
                                    })
                    .ok());
  });
  const RunId id = send_one({.name = "go", .data = R"({"k":1})"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kWaiting; }));
  clock_->advance(2s);
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  ASSERT_TRUE(engine_->send({.name = "approved", .data = R"({"k":1})"}).ok());
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(status_of(id), RunStatus::kSleeping);
  clock_->advance(2h);
  const RunInfo info = wait(id);
  EXPECT_EQ(info.status, RunStatus::kCompleted) << info.error;
  EXPECT_EQ(info.output, "timed out");
  EXPECT_EQ(after.load(), 1);
}

// Data nested deeper than the tools and the engine render (each level is a level of recursion
// when it is printed) is refused at the door, naming the limit: send(), ctx.send_event and invoke.
TEST_F(EngineTest, EventDataNestedTooDeeplyIsRefusedNamingTheLimit) {
  std::string deep = R"({"a":)";
  deep += std::string(30'000, '[') + std::string(30'000, ']') + "}";  // under event_bytes_max
  std::string ok = R"({"a":)";
  ok += std::string(200, '[') + std::string(200, ']') + "}";
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [&](Context& ctx, const Event&) -> Task<std::string> {
                                      try {
                                        co_await ctx.send_event("deep",
                                                                {.name = "x", .data = deep});
                                      } catch (const StepError& e) {
                                        co_return e.what();
                                      }
                                      co_return "sent";
                                    })
                    .ok());
  });
  auto refused = engine_->send({.name = "go", .data = deep});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("deeper than 256 levels"), std::string::npos)
      << refused.status().to_string();
  const RunInfo run = wait(send_one({.name = "go", .data = ok}));
  EXPECT_EQ(run.status, RunStatus::kCompleted) << run.error;
  EXPECT_NE(run.output.find("deeper than 256 levels"), std::string::npos) << run.output;
}

// Plants, in the log of `options`, the EventAccepted of `event` starting run 1 of `function`, as
// an engine that did not check the data's depth at send() (before e4ab4a6) recorded it.
void plant_accepted_event(const EngineOptions& options, const Event& event,
                          std::string_view function) {
  auto log = log::Log::open(options.dir / "log", options.log);
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  const std::string_view functions[] = {function};
  auto lsn = (*log)->append_durable(
      detail::type_of(schema::RecordType::EventAccepted),
      detail::build_event_accepted(event, 1, functions, nullptr, false, 1'000, true));
  ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
  ASSERT_TRUE((*log)->close().ok());
}

// Event data nested deeper than send() accepts, recorded before that check: the replay reads a
// field of it (a cancel_on match, a key, a wait) without printing the field as JSON, which
// recursed once per level and overflowed the stack at every start.
TEST_F(EngineTest, AnOldEventNestedTooDeeplyReplaysWhenAFieldOfItIsRead) {
  const std::string deep =
      R"({"a":)" + std::string(100'000, '[') + std::string(100'000, ']') + R"(,"id":"x"})";
  options_.log.record_bytes_max = 240u << 10;  // room for the data, as a default engine has
  ASSERT_NO_FATAL_FAILURE(plant_accepted_event(options_, {.name = "go", .data = deep}, "f"));
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f",
                                     .triggers = {on_event("go")},
                                     .concurrency = {{.limit = 1, .key = "data.a"}},
                                     .cancel_on = {{.event = "stop", .match = "data.a"}}},
                                    [&](Context& ctx, const Event&) -> Task<std::string> {
                                      try {
                                        co_await ctx.wait_for_event(
                                            "w", {.event = "approve", .match = "data.a"});
                                      } catch (const StepError& e) {
                                        co_return e.what();
                                      }
                                      co_return "matched";
                                    })
                    .ok());
  });
  const RunInfo run = wait(1);
  EXPECT_EQ(run.status, RunStatus::kCompleted) << run.error;
  // The field is not one a wait can match on: the wait fails at once, as for a missing field.
  EXPECT_TRUE(contains(run.output, "no field data.a")) << run.output;
}

// A Codec whose format is none this version knows is refused at registration: the format is
// recorded with every output and kept in snapshots, and a snapshot holding one is refused at load.
struct OddFormat {
  std::string text;
};
}  // namespace
template <>
struct Codec<OddFormat> {
  static constexpr ValueFormat format = static_cast<ValueFormat>(7);
  static void encode(const OddFormat& v, std::string& out) { out = v.text; }
  static OddFormat decode(std::string_view bytes) { return {std::string(bytes)}; }
};
namespace {

TEST_F(EngineTest, AnOutputCodecOfAnUnknownFormatIsRefusedAtRegistration) {
  start([](Engine& e) {
    const Status st = e.register_function(
        {.id = "odd", .triggers = {on_event("go")}},
        [](Context&, const Event&) -> Task<OddFormat> { co_return OddFormat{"x"}; });
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
    EXPECT_TRUE(contains(st.message(), "odd")) << st.to_string();
    EXPECT_TRUE(contains(st.message(), "format (7)")) << st.to_string();
  });
}

// A run completed with such a format in the log (written before registration checked it, or by a
// newer version) is shown as bytes, and the snapshots that hold it load: before, every snapshot
// written after it was refused at start (its finished run "has an unknown status") and the whole
// log replayed.
TEST_F(EngineTest, AnOutputFormatThisVersionDoesNotKnowIsShownAsBytesAndItsSnapshotsLoad) {
  ASSERT_NO_FATAL_FAILURE(plant_accepted_event(options_, {.name = "go", .data = "{}"}, "f"));
  {
    auto log = log::Log::open(options_.dir / "log", options_.log);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    auto lsn = (*log)->append_durable(
        detail::type_of(schema::RecordType::RunCompleted),
        detail::build_run_completed(1, "out", static_cast<ValueFormat>(7), 2'000));
    ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
    ASSERT_TRUE((*log)->close().ok());
  }
  auto setup = [](Engine& e) {
    ASSERT_TRUE(
        e.register_function({.id = "f", .triggers = {on_event("go")}},
                            [](Context&, const Event&) -> Task<std::string> { co_return "unused"; })
            .ok());
  };
  start(setup);
  auto run = engine_->get_run(1);
  ASSERT_TRUE(run.ok()) << run.status().to_string();
  EXPECT_EQ(run->status, RunStatus::kCompleted);
  EXPECT_EQ(run->output, "out");
  EXPECT_EQ(run->output_format, ValueFormat::kBytes);
  // Its history too (it passed the recorded 7 on to the dashboard and the tools).
  auto history = engine_->run_history(1);
  ASSERT_TRUE(history.ok()) << history.status().to_string();
  ASSERT_FALSE(history->empty());
  EXPECT_EQ(history->back().kind, HistoryEntry::Kind::kCompleted);
  EXPECT_EQ(history->back().value, "out");
  EXPECT_EQ(history->back().format, ValueFormat::kBytes);
  stop();  // writes a snapshot holding the finished run
  start(setup);
  EXPECT_TRUE(engine_->recovery().snapshot_problems.empty())
      << engine_->recovery().snapshot_problems.front();
  EXPECT_FALSE(engine_->recovery().snapshot.empty());
  ASSERT_TRUE(engine_->get_run(1).ok());
  EXPECT_EQ(engine_->get_run(1)->output_format, ValueFormat::kBytes);
}

// Every file under `dir` and its bytes: what a refused start must leave as it found it.
std::map<std::string, std::string> files_under(const std::filesystem::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    files[e.path().string()] = std::string(std::istreambuf_iterator<char>(in), {});
  }
  return files;
}

// A record holding a value of an enum this version does not know (a step failure kind a newer
// version added) is refused like a record type it does not know, naming the LSN, and the log is
// left as it was. Before, replay treated the failure as another kind: here, a retry it was not.
TEST_F(EngineTest, ARecordWithAValueThisVersionDoesNotKnowIsRefusedAndTheLogKeptAsItIs) {
  ASSERT_NO_FATAL_FAILURE(plant_accepted_event(options_, {.name = "go", .data = "{}"}, "f"));
  log::Lsn planted = 0;
  {
    auto log = log::Log::open(options_.dir / "log", options_.log);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    auto lsn = (*log)->append_durable(
        detail::type_of(schema::RecordType::StepFailed),
        detail::build_step_failed({.run = 1, .position = 0, .step_id = "s"}, 1,
                                  static_cast<schema::FailureKind>(9), "newer", 60'000, {1, 2}));
    ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
    planted = *lsn;
    ASSERT_TRUE((*log)->close().ok());
  }
  const auto before = files_under(options_.dir);
  engine_ = Engine::create(options_);
  ASSERT_TRUE(engine_
                  ->register_function({.id = "f", .triggers = {on_event("go")}},
                                      [](Context& ctx, const Event&) -> Task<int> {
                                        co_return co_await ctx.run("s", [] { return 1; });
                                      })
                  .ok());
  const Status st = engine_->start();
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(contains(st.message(), "a value this version does not know")) << st.to_string();
  EXPECT_TRUE(contains(st.message(), std::to_string(planted))) << st.to_string();
  engine_.reset();
  EXPECT_EQ(files_under(options_.dir), before);
}

// A wait's value nested deeper than event data may be is refused like such data, naming the
// limit: making it canonical JSON recursed once per level and overflowed the worker's stack.
TEST_F(EngineTest, AWaitValueNestedTooDeeplyFailsTheWaitNamingTheLimit) {
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [&](Context& ctx, const Event&) -> Task<std::string> {
                                      try {
                                        co_await ctx.wait_for_event(
                                            "w", {.event = "approve",
                                                  .match = "data.a",
                                                  .value = std::string_view(deep)});
                                      } catch (const StepError& e) {
                                        co_return e.what();
                                      }
                                      co_return "matched";
                                    })
                    .ok());
  });
  const RunInfo run = wait(send_one({.name = "go", .data = "{}"}));
  EXPECT_EQ(run.status, RunStatus::kCompleted) << run.error;
  EXPECT_TRUE(contains(run.output, "deeper than 256 levels")) << run.output;
}

// The largest durations mean "as good as forever": a sleep or a wait timeout of
// milliseconds::max() does not wrap around to a deadline long past and fire at once.
TEST_F(EngineTest, TheLongestSleepAndWaitTimeoutDoNotFireAtOnce) {
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "sleeper", .triggers = {on_event("sleep")}},
                                    [](Context& ctx, const Event&) -> Task<void> {
                                      co_await ctx.sleep("forever",
                                                         std::chrono::milliseconds::max());
                                    })
                    .ok());
    ASSERT_TRUE(
        e.register_function({.id = "waiter", .triggers = {on_event("wait")}},
                            [](Context& ctx, const Event&) -> Task<std::string> {
                              const WaitOptions wait{.event = "never",
                                                     .timeout = std::chrono::milliseconds::max()};
                              std::optional<Event> got = co_await ctx.wait_for_event("w", wait);
                              co_return got ? "matched" : "timed out";
                            })
            .ok());
  });
  const RunId sleeper = send_one({.name = "sleep"});
  const RunId waiter = send_one({.name = "wait"});
  ASSERT_TRUE(eventually([&] {
    return status_of(sleeper) == RunStatus::kSleeping && status_of(waiter) == RunStatus::kWaiting;
  }));
  clock_->advance(24h * 365 * 100);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(status_of(sleeper), RunStatus::kSleeping);
  EXPECT_EQ(status_of(waiter), RunStatus::kWaiting);
  ASSERT_TRUE(engine_->send({.name = "never"}).ok());
  EXPECT_EQ(wait(waiter).output, "matched");
}

// ctx.now_ms() is recorded: code that branches on it takes the same path on replay, however far
// the clock moved meanwhile.
TEST_F(EngineTest, TimeAFunctionReadsIsRecordedAndReplayed) {
  std::atomic<int> late_branch{0};
  const int64_t t0 = clock_->now_ms();
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [&, t0](Context& ctx, const Event&) -> Task<int64_t> {
                                      const int64_t now = co_await ctx.now_ms("now");
                                      if (now > t0 + 1000) {
                                        ++late_branch;
                                        co_await ctx.run("late", [] { return 1; });
                                      } else {
                                        co_await ctx.run("early", [] { return 2; });
                                      }
                                      co_await ctx.sleep("nap", 1h);
                                      co_return now;
                                    })
                    .ok());
  };
  start(setup);
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  stop();
  clock_->advance(30min);  // a replay reading the clock afresh would take the other branch
  start(setup);
  clock_->advance(2h);
  const RunInfo info = wait(id);
  ASSERT_EQ(info.status, RunStatus::kCompleted) << info.error;
  EXPECT_EQ(Codec<int64_t>::decode(info.output), t0);
  EXPECT_EQ(late_branch.load(), 0);
}

// send(span) is all or nothing: an event that cannot be accepted leaves none of them in the log,
// and their ids stay free, so the corrected batch is accepted whole.
TEST_F(EngineTest, SendingSeveralEventsIsAllOrNothing) {
  std::atomic<int> runs{0};
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [&](Context& ctx, const Event&) -> Task<int> {
                                      co_await ctx.run("count", [&] { return ++runs; });
                                      co_return 0;
                                    })
                    .ok());
  });
  std::vector<Event> events = {{.name = "go", .id = "a"},
                               {.name = "go", .data = "not json", .id = "b"},
                               {.name = "go", .id = "c"}};
  auto bad = engine_->send(events);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(bad.status().message(), "none was accepted")) << bad.status().to_string();
  // Counted from 1, as a person counts: the second event ("b") is the bad one.
  EXPECT_TRUE(contains(bad.status().message(), "event 2 of 3")) << bad.status().to_string();
  EXPECT_EQ(engine_->stats().runs_created, 0u);

  // Too many to fit one log record together: refused whole, with the reason.
  std::vector<Event> many(2000, Event{.name = "go", .data = R"({"pad":"0123456789abcdef"})"});
  auto big = engine_->send(many);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kLimitExceeded);
  EXPECT_TRUE(contains(big.status().message(), "send fewer")) << big.status().to_string();
  EXPECT_EQ(engine_->stats().runs_created, 0u);

  events[1].data = "{}";
  auto good = engine_->send(events);
  ASSERT_TRUE(good.ok()) << good.status().to_string();
  ASSERT_EQ(good->size(), 3u);
  for (const SendResult& r : *good) {
    EXPECT_FALSE(r.duplicate);
    ASSERT_EQ(r.runs.size(), 1u);
    EXPECT_EQ(wait(r.runs[0]).status, RunStatus::kCompleted);
  }
  EXPECT_EQ(runs.load(), 3);
  // The batch is in the log as one record: a restart finds the three runs and resends are
  // duplicates (replaying the whole log, not a snapshot, to count its records).
  stop();
  options_.snapshots = false;
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [&](Context& ctx, const Event&) -> Task<int> {
                                      co_await ctx.run("count", [&] { return ++runs; });
                                      co_return 0;
                                    })
                    .ok());
  });
  EXPECT_EQ(engine_->recovery().records, 1u + 3u * 2u);  // the batch, then a step and an end each
  auto again = engine_->send(events);
  ASSERT_TRUE(again.ok());
  for (const SendResult& r : *again) EXPECT_TRUE(r.duplicate);
}

// Whatever send() returned is visible to the next query, on any thread (the writer applies a
// batch to the run table before it reports it durable).
TEST_F(EngineTest, RunsThatSendReturnedAreVisibleToTheNextQuery) {
  // Without syncs, to try many times: the window between "durable" and "applied" was the same.
  options_.log.durability = log::Durability::kNoneUnsafe;
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context&, const Event&) -> Task<int> { co_return 1; })
                    .ok());
  });
  int missing = 0;
  const int sends = testing::race_iterations(20000);
  for (int i = 0; i < sends; ++i) {
    auto sent = engine_->send({.name = "go"});
    ASSERT_TRUE(sent.ok());
    missing += !engine_->get_run(sent->runs.at(0)).ok();
  }
  EXPECT_EQ(missing, 0);
}

}  // namespace
}  // namespace cairn
