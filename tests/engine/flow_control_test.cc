// Flow control wired into the engine: concurrency (function-wide, per key, engine-wide; sleeping
// runs hold no slot; fair across keys; priority), throttle (delays, never drops), rate limit
// (skips, recorded), cancel_on (and the runs a cancelled run invoked), bad configuration refused
// at registration, and what survives a restart (with and without a snapshot).
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "cairn/errors.h"
#include "engine_fixture.h"

namespace cairn {
namespace {

using testing::EngineTest;
using namespace std::chrono_literals;

// Counts the step bodies running at once, overall and per key, and keeps the maximum seen.
struct InFlight {
  std::mutex mu;
  std::map<std::string, int> now;
  std::map<std::string, int> max;
  int total = 0;
  int total_max = 0;
  std::vector<std::string> order;  // keys, in the order their bodies began

  void enter(const std::string& key) {
    std::lock_guard lock(mu);
    max[key] = std::max(max[key], ++now[key]);
    total_max = std::max(total_max, ++total);
    order.push_back(key);
  }
  void leave(const std::string& key) {
    std::lock_guard lock(mu);
    --now[key];
    --total;
  }
};

std::string key_of(const Event& e) {
  const auto at = e.data.find("\"k\":\"");
  if (at == std::string::npos) return {};
  const auto end = e.data.find('"', at + 5);
  return e.data.substr(at + 5, end - at - 5);
}

// A function whose one step takes `hold` of real time while counted in `in_flight`.
auto busy_function(InFlight& in_flight, std::chrono::milliseconds hold) {
  return [&in_flight, hold](Context& ctx, const Event& e) -> Task<void> {
    // A named body: GCC 12 mishandles a temporary lambda that owns a std::string inside co_await.
    auto body = [&in_flight, key = key_of(e), hold] {
      in_flight.enter(key);
      std::this_thread::sleep_for(hold);
      in_flight.leave(key);
    };
    co_await ctx.run("work", body);
  };
}

Event keyed(const std::string& name, const std::string& key, int priority = 0) {
  return {.name = name, .data = R"({"k":")" + key + R"(","p":)" + std::to_string(priority) + "}"};
}

class FlowTest : public EngineTest {
 protected:
  FlowTest() { options_.workers = 4; }
};

TEST_F(FlowTest, BadConfigurationIsRefusedAtRegistration) {
  auto engine = Engine::create(options_);
  auto body = [](Context&, const Event&) -> Task<void> { co_return; };
  auto refused = [&](FunctionOptions o, std::string_view says) {
    testing::expect_refused(*engine, std::move(o), says);
  };
  refused({.id = "a", .concurrency = {{.limit = 0}}}, "concurrency limit 0 is out of range");
  refused({.id = "b", .concurrency = {{.limit = 1}, {.limit = 2}}},
          "more than one function-wide concurrency limit");
  refused({.id = "c", .concurrency = {{.limit = 1, .key = "data..x"}}}, "empty field name");
  refused({.id = "d", .throttle = ThrottleLimit{.limit = 1, .period = 0ms}}, "period");
  refused({.id = "e", .throttle = ThrottleLimit{.limit = 0, .period = 1s}}, "limit");
  refused({.id = "f", .throttle = ThrottleLimit{.limit = 2, .period = 1s, .burst = 3}}, "burst");
  refused({.id = "g", .rate_limit = RateLimit{.limit = 1, .period = 0ms}}, "period");
  refused({.id = "h", .rate_limit = RateLimit{.limit = 1, .period = 1s, .key = "customer"}},
          "must start with");
  refused({.id = "i", .cancel_on = {{.event = ""}}}, "needs an event name");
  refused({.id = "j", .cancel_on = {{.event = "x", .match = "event.name"}}},
          "must name a field of the event data");
  refused({.id = "k", .priority = "data.p q"}, "not allowed");
  // Nothing refused was registered: the ids are free.
  EXPECT_TRUE(engine->register_function({.id = "a", .concurrency = {{.limit = 1}}}, body).ok());
}

TEST_F(FlowTest, AFunctionWideLimitIsNeverExceeded) {
  InFlight f;
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function(
                     {.id = "one", .triggers = {on_event("go")}, .concurrency = {{.limit = 1}}},
                     busy_function(f, 3ms))
                    .ok());
  });
  std::vector<RunId> runs;
  for (int i = 0; i < 12; ++i) runs.push_back(send_one(keyed("go", "k" + std::to_string(i))));
  for (RunId id : runs) EXPECT_EQ(wait(id).status, RunStatus::kCompleted);
  EXPECT_EQ(f.total_max, 1);
}

TEST_F(FlowTest, APerKeyLimitHoldsPerKeyAndLetsKeysRunSideBySide) {
  InFlight f;
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "per-key",
                                     .triggers = {on_event("go")},
                                     .concurrency = {{.limit = 1, .key = "data.k"}}},
                                    busy_function(f, 5ms))
                    .ok());
  });
  std::vector<RunId> runs;
  for (int i = 0; i < 24; ++i) runs.push_back(send_one(keyed("go", "k" + std::to_string(i % 3))));
  for (RunId id : runs) EXPECT_EQ(wait(id).status, RunStatus::kCompleted);
  for (const auto& [key, m] : f.max) EXPECT_EQ(m, 1) << key;
  EXPECT_GT(f.total_max, 1) << "different keys never ran side by side";
}

TEST_F(FlowTest, SleepingRunsHoldNoSlot) {
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function(
                     {.id = "nap", .triggers = {on_event("go")}, .concurrency = {{.limit = 1}}},
                     [](Context& ctx, const Event&) -> Task<void> {
                       co_await ctx.run("a", [] {});
                       co_await ctx.sleep("nap", 1h);
                       co_await ctx.run("b", [] {});
                     })
                    .ok());
  });
  const RunId first = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(first) == RunStatus::kSleeping; }));
  const RunId second = send_one({.name = "go"});
  // The second run takes the slot the sleeper gave back, and goes to sleep too.
  ASSERT_TRUE(eventually([&] { return status_of(second) == RunStatus::kSleeping; }));
  clock_->advance(2h);
  EXPECT_EQ(wait(first).status, RunStatus::kCompleted);
  EXPECT_EQ(wait(second).status, RunStatus::kCompleted);
}

TEST_F(FlowTest, ABusyKeyDoesNotStarveTheOthers) {
  InFlight f;
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "fair",
                                     .triggers = {on_event("go")},
                                     .concurrency = {{.limit = 1}, {.limit = 1, .key = "data.k"}}},
                                    busy_function(f, 2ms))
                    .ok());
  });
  std::vector<Event> events;
  for (int i = 0; i < 20; ++i) events.push_back(keyed("go", "busy"));
  events.push_back(keyed("go", "quiet"));
  auto sent = engine_->send(events);  // one record: the busy key's runs queue before the quiet one
  ASSERT_TRUE(sent.ok());
  for (const SendResult& r : *sent) EXPECT_EQ(wait(r.runs.front()).status, RunStatus::kCompleted);
  std::lock_guard lock(f.mu);
  ASSERT_EQ(f.order.size(), 21u);
  const auto quiet = std::find(f.order.begin(), f.order.end(), "quiet") - f.order.begin();
  EXPECT_LE(quiet, 2) << "the quiet key waited behind the busy one";
}

// "prio": a concurrency limit of 1 and priority data.p; its step notes the run's key in `order`
// and, for the key "first", holds the slot until `release`. Runs sent while "first" holds it
// queue together.
struct PriorityProbe {
  std::mutex mu;
  std::vector<std::string> order;
  std::atomic<bool> release{false};

  void register_with(Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "prio",
                                     .triggers = {on_event("go")},
                                     .concurrency = {{.limit = 1}},
                                     .priority = "data.p"},
                                    [this](Context& ctx, const Event& ev) -> Task<void> {
                                      auto body = [this, key = key_of(ev)] {
                                        {
                                          std::lock_guard lock(mu);
                                          order.push_back(key);
                                        }
                                        while (key == "first" && !release.load()) {
                                          std::this_thread::sleep_for(1ms);
                                        }
                                      };
                                      co_await ctx.run("work", body);
                                    })
                    .ok());
  }
  bool started() {
    std::lock_guard lock(mu);
    return !order.empty();
  }
  std::vector<std::string> started_order() {
    std::lock_guard lock(mu);
    return order;
  }
};

TEST_F(FlowTest, HigherPriorityStartsFirstAmongQueuedRuns) {
  PriorityProbe probe;
  start([&](Engine& e) { probe.register_with(e); });
  const RunId first = send_one(keyed("go", "first"));
  ASSERT_TRUE(eventually([&] { return probe.started(); }));
  const RunId low = send_one(keyed("go", "low", -5));
  const RunId high = send_one(keyed("go", "high", 5));
  probe.release = true;
  for (RunId id : {first, low, high}) EXPECT_EQ(wait(id).status, RunStatus::kCompleted);
  EXPECT_EQ(probe.started_order(), (std::vector<std::string>{"first", "high", "low"}));
}

// A clock that moves on every read: each look at it costs `step` (a loaded machine, where apply
// is preempted between the runs of one record, looks like this to the engine).
class RacingClock final : public Clock {
 public:
  explicit RacingClock(std::chrono::milliseconds step) : step_(step.count()) {}
  int64_t now_ms() const override { return now_.fetch_add(step_) + step_; }
  std::chrono::nanoseconds real_wait_until(int64_t) const override { return 1ms; }
  uint64_t subscribe(std::function<void()>) override { return 1; }
  void unsubscribe(uint64_t) override {}

 private:
  const int64_t step_;
  mutable std::atomic<int64_t> now_{1'700'000'000'000};
};

TEST_F(FlowTest, TheRunsOfOneSendQueueAsOfOneInstantHoweverTimeMovesWhileTheyAreApplied) {
  // Ten priority levels of aging per clock read: were each run of the send queued as of when
  // apply got to it, the earlier ones would go first whatever their priority.
  options_.clock = std::make_shared<RacingClock>(10s);
  PriorityProbe probe;
  start([&](Engine& e) { probe.register_with(e); });
  const RunId first = send_one(keyed("go", "first"));
  ASSERT_TRUE(eventually([&] { return probe.started(); }));
  const std::vector<Event> burst = {keyed("go", "low", -5), keyed("go", "mid", 0),
                                    keyed("go", "high", 5)};
  auto sent = engine_->send(std::span<const Event>(burst));
  ASSERT_TRUE(sent.ok()) << sent.status().to_string();
  probe.release = true;
  EXPECT_EQ(wait(first).status, RunStatus::kCompleted);
  for (const SendResult& r : *sent) EXPECT_EQ(wait(r.runs.front()).status, RunStatus::kCompleted);
  EXPECT_EQ(probe.started_order(), (std::vector<std::string>{"first", "high", "mid", "low"}));
}

TEST_F(FlowTest, AnEngineWideLimitHoldsAcrossFunctions) {
  InFlight f;
  options_.runs_executing_max = 1;
  start([&](Engine& e) {
    ASSERT_TRUE(
        e.register_function({.id = "a", .triggers = {on_event("go")}}, busy_function(f, 2ms)).ok());
    ASSERT_TRUE(
        e.register_function({.id = "b", .triggers = {on_event("go")}}, busy_function(f, 2ms)).ok());
  });
  std::vector<RunId> runs;
  for (int i = 0; i < 8; ++i) {
    auto sent = engine_->send(keyed("go", "k"));
    ASSERT_TRUE(sent.ok());
    runs.insert(runs.end(), sent->runs.begin(), sent->runs.end());
  }
  for (RunId id : runs) EXPECT_EQ(wait(id).status, RunStatus::kCompleted);
  EXPECT_EQ(f.total_max, 1);
}

TEST_F(FlowTest, AThrottleDelaysExcessRunsAndDropsNone) {
  std::atomic<int> ran{0};
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function(
                     {.id = "throttled",
                      .triggers = {on_event("go")},
                      .throttle = ThrottleLimit{.limit = 2, .period = 1min, .key = "data.k"}},
                     [&](Context& ctx, const Event&) -> Task<void> {
                       co_await ctx.run("work", [&] { ++ran; });
                     })
                    .ok());
  });
  std::vector<RunId> runs;
  for (int i = 0; i < 5; ++i) runs.push_back(send_one(keyed("go", "a")));
  const RunId other = send_one(keyed("go", "b"));
  // One per 30 s per key (limit 2 per minute, burst 1): the first of each key starts now.
  EXPECT_EQ(wait(runs[0]).status, RunStatus::kCompleted);
  EXPECT_EQ(wait(other).status, RunStatus::kCompleted);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(status_of(runs[1]), RunStatus::kQueued) << "the throttle let a second run through";
  EXPECT_EQ(ran.load(), 2);
  for (int i = 1; i < 5; ++i) {
    clock_->advance(30s);
    EXPECT_EQ(wait(runs[i]).status, RunStatus::kCompleted) << i;
  }
  EXPECT_EQ(ran.load(), 6);
  auto history = engine_->run_history(runs[4]);
  ASSERT_TRUE(history.ok());
  ASSERT_GE(history->size(), 2u);
  EXPECT_EQ((*history)[1].kind, HistoryEntry::Kind::kAdmitted);
  EXPECT_NE((*history)[1].value.find("throttle key \"a\""), std::string::npos)
      << (*history)[1].value;
}

TEST_F(FlowTest, ARateLimitSkipsExcessRunsAndRecordsWhy) {
  std::atomic<int> ran{0};
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(
        e.register_function(
             {.id = "limited",
              .triggers = {on_event("go")},
              .rate_limit = RateLimit{.limit = 2, .period = 1h, .key = "data.k", .burst = 2}},
             [&](Context& ctx, const Event&) -> Task<void> {
               co_await ctx.run("work", [&] { ++ran; });
             })
            .ok());
  };
  start(setup);
  std::vector<RunId> runs;
  for (int i = 0; i < 4; ++i) runs.push_back(send_one(keyed("go", "a")));
  const RunId other = send_one(keyed("go", "b"));
  EXPECT_EQ(wait(runs[0]).status, RunStatus::kCompleted);
  EXPECT_EQ(wait(runs[1]).status, RunStatus::kCompleted);
  for (int i = 2; i < 4; ++i) {
    const RunInfo skipped = wait(runs[i]);
    EXPECT_EQ(skipped.status, RunStatus::kSkipped);
    EXPECT_NE(skipped.error.find("rate limit 2 per 3600000 ms (burst 2) reached for key \"a\""),
              std::string::npos)
        << skipped.error;
  }
  EXPECT_EQ(wait(other).status, RunStatus::kCompleted);
  EXPECT_EQ(ran.load(), 3);

  // The admissions are in the log (or the snapshot): a restart still counts them.
  stop();
  start(setup);
  const RunId after = send_one(keyed("go", "a"));
  EXPECT_EQ(wait(after).status, RunStatus::kSkipped);
  clock_->advance(61min);
  const RunId later = send_one(keyed("go", "a"));
  EXPECT_EQ(wait(later).status, RunStatus::kCompleted);
}

TEST_F(FlowTest, RateLimitStateIsRebuiltFromTheLogWithoutASnapshot) {
  options_.snapshots = false;
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "limited",
                                     .triggers = {on_event("go")},
                                     .rate_limit = RateLimit{.limit = 1, .period = 1h}},
                                    [](Context& ctx, const Event&) -> Task<void> {
                                      co_await ctx.run("work", [] {});
                                    })
                    .ok());
  };
  start(setup);
  EXPECT_EQ(wait(send_one({.name = "go"})).status, RunStatus::kCompleted);
  stop();
  start(setup);
  EXPECT_EQ(wait(send_one({.name = "go"})).status, RunStatus::kSkipped);
}

TEST_F(FlowTest, DelayedRunsAreDecidedAgainAfterARestart) {
  std::atomic<int> ran{0};
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "throttled",
                                     .triggers = {on_event("go")},
                                     .throttle = ThrottleLimit{.limit = 1, .period = 1min}},
                                    [&](Context& ctx, const Event&) -> Task<void> {
                                      co_await ctx.run("work", [&] { ++ran; });
                                    })
                    .ok());
  };
  start(setup);
  std::vector<RunId> runs;
  for (int i = 0; i < 3; ++i) runs.push_back(send_one({.name = "go"}));
  EXPECT_EQ(wait(runs[0]).status, RunStatus::kCompleted);
  stop();
  start(setup);
  // Still throttled: the first admission was recorded, so the restart does not start another.
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(status_of(runs[1]), RunStatus::kQueued);
  clock_->advance(1min);
  EXPECT_EQ(wait(runs[1]).status, RunStatus::kCompleted);
  clock_->advance(1min);
  EXPECT_EQ(wait(runs[2]).status, RunStatus::kCompleted);
  EXPECT_EQ(ran.load(), 3);
}

// A function that gains a rate limit across a restart: its runs that had started before (here
// each sleeps as its first operation) go on, with a snapshot and with a full replay alike; the
// limit applies to runs from now on. (A full replay once decided these runs again, as if they had
// never started, and skipped two of the three.)
TEST_F(FlowTest, RunsStartedBeforeAFunctionGainedALimitGoOnAfterARestart) {
  for (const bool snapshots : {true, false}) {
    SCOPED_TRACE(snapshots ? "restart from a snapshot" : "restart by a full replay");
    options_.dir = dir_.path() / (snapshots ? "with-snapshots" : "replay");
    options_.snapshots = snapshots;
    auto setup = [](bool limited) {
      return [limited](Engine& e) {
        FunctionOptions f{.id = "napper", .triggers = {on_event("go")}};
        if (limited) f.rate_limit = RateLimit{.limit = 1, .period = 1h};
        ASSERT_TRUE(e.register_function(f, [](Context& ctx, const Event&) -> Task<std::string> {
                       co_await ctx.sleep("nap", 1h);
                       co_return "rested";
                     }).ok());
      };
    };
    start(setup(false));
    std::vector<RunId> runs;
    for (int i = 0; i < 3; ++i) runs.push_back(send_one({.name = "go"}));
    ASSERT_TRUE(eventually([&] {
      return std::all_of(runs.begin(), runs.end(),
                         [&](RunId r) { return status_of(r) == RunStatus::kSleeping; });
    }));
    stop();
    start(setup(true));
    std::this_thread::sleep_for(50ms);
    for (RunId r : runs) EXPECT_EQ(status_of(r), RunStatus::kSleeping) << "run " << r;
    clock_->advance(61min);
    for (RunId r : runs) EXPECT_EQ(wait(r).status, RunStatus::kCompleted) << "run " << r;
    // The limit holds for the runs that come now (those from before it used none of it): the
    // first passes, the next in the same hour is skipped.
    const RunId fresh = send_one({.name = "go"});
    const RunId excess = send_one({.name = "go"});
    EXPECT_EQ(wait(excess).status, RunStatus::kSkipped);
    ASSERT_TRUE(eventually([&] { return status_of(fresh) == RunStatus::kSleeping; }));
    clock_->advance(61min);
    EXPECT_EQ(wait(fresh).status, RunStatus::kCompleted);
    stop();
  }
}

// "napper" on event "go": one run at a time, and (`limited`) one per hour; its step says it began
// (`entered`) and holds on until `release`.
void register_napper(Engine& e, bool limited, std::atomic<bool>& entered,
                     std::atomic<bool>& release) {
  FunctionOptions f{.id = "napper", .triggers = {on_event("go")}, .concurrency = {{.limit = 1}}};
  if (limited) f.rate_limit = RateLimit{.limit = 1, .period = 1h};
  ASSERT_TRUE(e.register_function(f, [&](Context& ctx, const Event&) -> Task<std::string> {
                 co_await ctx.run("a", [&] {
                   entered = true;
                   while (!release) std::this_thread::sleep_for(1ms);
                   return 1;
                 });
                 co_return "done";
               }).ok());
}

// A run that never started (created, nothing recorded) while its function limited no admission is
// decided under the limits the function has when the engine starts again: from a snapshot as by a
// full replay of its records. (A snapshot once admitted such runs unasked: it had nothing to tell
// them from runs already let through.) Here the runs queue for the function's one concurrency slot
// behind a first run whose step never ends, and a copy of the directory, snapshot and all, is
// taken while they wait: a crash image.
TEST_F(FlowTest, RunsThatNeverStartedAreDecidedUnderLimitsGainedBeforeARestart) {
  namespace fs = std::filesystem;
  std::atomic<bool> entered{false}, release{false};
  auto setup = [&](bool limited) {
    return [&, limited](Engine& e) { register_napper(e, limited, entered, release); };
  };
  options_.dir = dir_.path() / "engine";
  options_.snapshot_every_records = 1;
  start(setup(false));
  std::vector<RunId> runs{send_one({.name = "go"})};
  ASSERT_TRUE(eventually([&] { return entered.load(); }));
  runs.push_back(send_one({.name = "go"}));
  runs.push_back(send_one({.name = "go"}));
  auto history = engine_->run_history(runs.back());
  ASSERT_TRUE(history.ok()) << history.status().to_string();
  const uint64_t created = history->front().lsn;
  ASSERT_TRUE(eventually([&] { return engine_->stats().snapshot_last_lsn > created; }));
  const fs::path image = dir_.path() / "image";
  const fs::path replay = dir_.path() / "image-replay";
  fs::copy(options_.dir, image, fs::copy_options::recursive);
  fs::copy(options_.dir, replay, fs::copy_options::recursive);
  fs::remove_all(replay / "snapshots");
  release = true;
  stop();

  std::map<bool, std::vector<RunStatus>> outcome;
  for (const bool snapshots : {true, false}) {
    SCOPED_TRACE(snapshots ? "restart from a snapshot" : "restart by a full replay");
    options_.dir = snapshots ? image : replay;
    options_.snapshots = snapshots;
    start(setup(true));
    EXPECT_EQ(engine_->recovery().snapshot.empty(), !snapshots);
    for (RunId r : runs) outcome[snapshots].push_back(wait(r).status);
    stop();
  }
  // In creation order: the first passes the new limit, the others in the same hour are skipped.
  const std::vector<RunStatus> expected{RunStatus::kCompleted, RunStatus::kSkipped,
                                        RunStatus::kSkipped};
  EXPECT_EQ(outcome[false], expected);
  EXPECT_EQ(outcome[true], expected);
}

// A run admitted under a rate limit (its RunAdmitted in the log) and still in its first step when
// a process without the limit snapshots it, then a restart with the limit back: the run is not
// decided (counted) again, as a full replay counts its recorded admission once. It was: the
// snapshot marked it admission-free, the restart counted it a second time, and a later run was
// skipped for the rate limit where a full replay let it complete.
TEST_F(FlowTest, ARunAdmittedUnderALimitIsNotDecidedAgainAfterASnapshotWrittenWithoutIt) {
  namespace fs = std::filesystem;
  std::atomic<bool> entered{false}, release{false};
  auto setup = [&](bool limited) {
    return [&, limited](Engine& e) {
      register_napper(e, limited, entered, release);
      ASSERT_TRUE(
          e.register_function({.id = "other", .triggers = {on_event("other")}},
                              [](Context&, const Event&) -> Task<std::string> { co_return "o"; })
              .ok());
    };
  };
  options_.snapshot_every_records = 1;
  // Process 1: limited; A admitted (RunAdmitted) and inside its step.
  options_.dir = dir_.path() / "p1";
  start(setup(true));
  const RunId a = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return entered.load(); }));
  {
    auto h = engine_->run_history(a);
    ASSERT_TRUE(h.ok());
    ASSERT_TRUE(eventually([&] { return engine_->stats().snapshot_last_lsn > h->back().lsn; }));
  }
  const fs::path image1 = dir_.path() / "image1";
  fs::copy(options_.dir, image1, fs::copy_options::recursive);
  release = true;
  stop();
  // Process 2 on the crash image: no limits; A runs its step again; a snapshot after the load.
  release = false;
  entered = false;
  options_.dir = image1;
  start(setup(false));
  ASSERT_FALSE(engine_->recovery().snapshot.empty());
  ASSERT_TRUE(eventually([&] { return entered.load(); }));
  const RunId o = send_one({.name = "other"});
  wait(o);
  {
    auto h = engine_->run_history(o);
    ASSERT_TRUE(h.ok());
    ASSERT_TRUE(eventually([&] { return engine_->stats().snapshot_last_lsn > h->back().lsn; }));
  }
  const fs::path image = dir_.path() / "image2";
  const fs::path replay = dir_.path() / "image2-replay";
  fs::copy(options_.dir, image, fs::copy_options::recursive);
  fs::copy(options_.dir, replay, fs::copy_options::recursive);
  fs::remove_all(replay / "snapshots");
  release = true;
  stop();
  // Process 3: limits back, 40 min after A's admission; a run sent 70 min after it.
  std::map<bool, std::vector<std::string>> outcome;
  for (const bool snapshots : {true, false}) {
    options_.dir = snapshots ? image : replay;
    options_.snapshots = snapshots;
    clock_->advance(40min);
    start(setup(true));
    EXPECT_EQ(engine_->recovery().snapshot.empty(), !snapshots);
    const RunInfo ai = wait(a);
    auto h = engine_->run_history(a);
    int admitted = 0;
    for (const auto& e : *h) admitted += e.kind == HistoryEntry::Kind::kAdmitted;
    clock_->advance(30min);
    const RunInfo e2 = wait(send_one({.name = "go"}));
    outcome[snapshots] = {std::to_string(static_cast<int>(ai.status)),
                          "A admitted records " + std::to_string(admitted),
                          "E2 " + std::to_string(static_cast<int>(e2.status)) + " " + e2.error};
    stop();
    clock_->advance(-70min);
  }
  // A was admitted once (70 min before E2, past the 1 h period): E2 is admitted and completes.
  const std::vector<std::string> expected = {
      std::to_string(static_cast<int>(RunStatus::kCompleted)), "A admitted records 1",
      "E2 " + std::to_string(static_cast<int>(RunStatus::kCompleted)) + " "};
  EXPECT_EQ(outcome[false], expected);
  EXPECT_EQ(outcome[true], expected);
}

// An invoked run that flow control skips ends the parent's invoke as a failure saying why (the
// parent once waited for it forever, across restarts too).
TEST_F(FlowTest, AnInvokedRunThatIsSkippedFailsTheInvokeWithTheReason) {
  auto setup = [](Engine& e) {
    ASSERT_TRUE(
        e.register_function({.id = "child", .rate_limit = RateLimit{.limit = 1, .period = 1h}},
                            [](Context&, const Event&) -> Task<std::string> { co_return "ran"; })
            .ok());
    ASSERT_TRUE(e.register_function({.id = "parent", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event&) -> Task<std::string> {
                                      std::string first =
                                          co_await ctx.invoke("c1", {.function = "child"});
                                      std::string second;
                                      try {
                                        second = co_await ctx.invoke("c2", {.function = "child"});
                                      } catch (const StepError& e) {
                                        second = e.what();
                                      }
                                      co_return first + " / " + second;
                                    })
                    .ok());
  };
  start(setup);
  const RunInfo parent = wait(send_one({.name = "go"}), 5s);
  EXPECT_EQ(parent.status, RunStatus::kCompleted);
  EXPECT_NE(parent.output.find("ran / "), std::string::npos) << parent.output;
  EXPECT_NE(parent.output.find("was skipped: rate limit"), std::string::npos) << parent.output;
}

TEST_F(FlowTest, RunsQueuedForASlotAllFinishAfterARestart) {
  std::atomic<int> ran{0};
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function(
                     {.id = "nap", .triggers = {on_event("go")}, .concurrency = {{.limit = 1}}},
                     [&](Context& ctx, const Event&) -> Task<void> {
                       co_await ctx.run("a", [&] { ++ran; });
                       co_await ctx.sleep("nap", 1h);
                     })
                    .ok());
  };
  start(setup);
  std::vector<RunId> runs;
  for (int i = 0; i < 6; ++i) runs.push_back(send_one({.name = "go"}));
  stop();
  start(setup);
  ASSERT_TRUE(eventually([&] {
    for (RunId id : runs) {
      if (status_of(id) != RunStatus::kSleeping) return false;
    }
    return true;
  }));
  clock_->advance(2h);
  for (RunId id : runs) EXPECT_EQ(wait(id).status, RunStatus::kCompleted);
  EXPECT_EQ(ran.load(), 6);
}

TEST_F(FlowTest, CancelOnStopsTheMatchingRunOnly) {
  start([&](Engine& e) {
    ASSERT_TRUE(
        e.register_function({.id = "order",
                             .triggers = {on_event("order/created")},
                             .cancel_on = {{.event = "order/cancelled", .match = "data.order_id"}}},
                            [](Context& ctx, const Event&) -> Task<void> {
                              co_await ctx.run("reserve", [] {});
                              co_await ctx.sleep("wait-for-payment", 1h);
                              co_await ctx.run("ship", [] {});
                            })
            .ok());
  });
  const RunId a = send_one({.name = "order/created", .data = R"({"order_id":"A"})"});
  const RunId b = send_one({.name = "order/created", .data = R"({"order_id":"B"})"});
  ASSERT_TRUE(eventually([&] {
    return status_of(a) == RunStatus::kSleeping && status_of(b) == RunStatus::kSleeping;
  }));
  ASSERT_TRUE(
      engine_->send({.name = "order/cancelled", .data = R"({"order_id":"A"})", .id = "c-1"}).ok());
  const RunInfo cancelled = wait(a);
  EXPECT_EQ(cancelled.status, RunStatus::kCancelled);
  EXPECT_NE(cancelled.error.find("cancel_on: event order/cancelled (id c-1)"), std::string::npos)
      << cancelled.error;
  EXPECT_EQ(status_of(b), RunStatus::kSleeping);
  clock_->advance(2h);
  EXPECT_EQ(wait(b).status, RunStatus::kCompleted);
}

// "Replace the older run for this order": the event that cancels the earlier run is the one that
// starts the new run, and the new run is not cancelled by it (it was, when cancel_on was matched
// after the event's runs were made). A full replay decides the same.
TEST_F(FlowTest, AnEventCancelsTheRunsBeforeItNotTheOnesItStarts) {
  auto setup = [](Engine& e) {
    ASSERT_TRUE(
        e.register_function(
             {.id = "order",
              .triggers = {on_event("order/updated")},
              .cancel_on = {{.event = "order/updated", .match = "data.order_id"}}},
             [](Context& ctx, const Event&) -> Task<void> { co_await ctx.sleep("settle", 1h); })
            .ok());
  };
  options_.snapshots = false;
  start(setup);
  const RunId first = send_one({.name = "order/updated", .data = R"({"order_id":"A"})"});
  ASSERT_TRUE(eventually([&] { return status_of(first) == RunStatus::kSleeping; }));
  const RunId second = send_one({.name = "order/updated", .data = R"({"order_id":"A"})"});
  EXPECT_EQ(wait(first).status, RunStatus::kCancelled);
  ASSERT_TRUE(eventually([&] { return status_of(second) == RunStatus::kSleeping; }))
      << "status " << static_cast<int>(status_of(second));
  stop();
  start(setup);
  EXPECT_EQ(status_of(first), RunStatus::kCancelled);
  EXPECT_EQ(status_of(second), RunStatus::kSleeping);
  clock_->advance(2h);
  EXPECT_EQ(wait(second).status, RunStatus::kCompleted);
}

// The run's end is a step boundary too: a cancel that arrives while the function is past its
// last step (here: in code after it, not a step) ends the run cancelled, not completed.
TEST_F(FlowTest, ACancelThatArrivesAfterTheLastStepEndsTheRunCancelled) {
  std::atomic<bool> past_last_step{false}, release{false};
  start([&](Engine& e) {
    ASSERT_TRUE(
        e.register_function({.id = "order",
                             .triggers = {on_event("order/created")},
                             .cancel_on = {{.event = "order/cancelled", .match = "data.order_id"}}},
                            [&](Context& ctx, const Event&) -> Task<int> {
                              co_await ctx.run("reserve", [] {});
                              past_last_step = true;
                              while (!release) std::this_thread::sleep_for(1ms);
                              co_return 1;
                            })
            .ok());
  });
  const RunId a = send_one({.name = "order/created", .data = R"({"order_id":"A"})"});
  ASSERT_TRUE(eventually([&] { return past_last_step.load(); }));
  // send() returns once the event is applied: the cancel is requested before the function ends.
  ASSERT_TRUE(
      engine_->send({.name = "order/cancelled", .data = R"({"order_id":"A"})", .id = "c-1"}).ok());
  release = true;
  const RunInfo end = wait(a);
  EXPECT_EQ(end.status, RunStatus::kCancelled);
  EXPECT_NE(end.error.find("cancel_on: event order/cancelled (id c-1)"), std::string::npos)
      << end.error;
}

TEST_F(FlowTest, CancellingARunCancelsTheRunItInvokedAndWaitsFor) {
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "child"}, [](Context& ctx, const Event&) -> Task<void> {
                   co_await ctx.sleep("long", 24h);
                 }).ok());
    ASSERT_TRUE(
        e.register_function(
             {.id = "parent", .triggers = {on_event("go")}, .cancel_on = {{.event = "stop"}}},
             [](Context& ctx, const Event&) -> Task<void> {
               co_await ctx.invoke("child", {.function = "child"});
             })
            .ok());
  });
  const RunId parent = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(parent) == RunStatus::kWaiting; }));
  RunPage children = engine_->list_runs({.function_id = "child"});
  ASSERT_EQ(children.runs.size(), 1u);
  const RunId child = children.runs[0].id;
  ASSERT_TRUE(eventually([&] { return status_of(child) == RunStatus::kSleeping; }));
  ASSERT_TRUE(engine_->send({.name = "stop"}).ok());
  EXPECT_EQ(wait(parent).status, RunStatus::kCancelled);
  const RunInfo c = wait(child);
  EXPECT_EQ(c.status, RunStatus::kCancelled);
  EXPECT_NE(c.error.find("its parent run " + std::to_string(parent) + " was cancelled"),
            std::string::npos)
      << c.error;
}

TEST_F(FlowTest, ACancelOnMatchSurvivesARestartBeforeItIsRecorded) {
  // Engine::cancel is not involved: the matching event alone must cancel, also when the engine
  // stops between accepting the event and the run recording its cancellation.
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(
        e.register_function(
             {.id = "order",
              .triggers = {on_event("order/created")},
              .cancel_on = {{.event = "order/cancelled", .match = "data.order_id"}}},
             [](Context& ctx, const Event&) -> Task<void> { co_await ctx.sleep("nap", 1h); })
            .ok());
  };
  start(setup);
  const RunId a = send_one({.name = "order/created", .data = R"({"order_id":7})"});
  ASSERT_TRUE(eventually([&] { return status_of(a) == RunStatus::kSleeping; }));
  ASSERT_TRUE(engine_->send({.name = "order/cancelled", .data = R"({"order_id":7})"}).ok());
  stop();
  start(setup);
  EXPECT_EQ(wait(a).status, RunStatus::kCancelled);
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

// Property: random events over a few keys, random clock steps and random restarts against a
// rate-limited, a throttled and a concurrency-limited function. Afterwards, from each run's
// recorded history: no window of a period held more admissions per key than the limit allows,
// every throttled run completed (delayed, never dropped), every rate-limited run either
// completed or was skipped (never both, never lost), and no two runs of one key took steps at
// once.
TEST_F(FlowTest, RandomEventsNeverPassALimitAcrossRestarts) {
  constexpr int64_t kRatePeriodMs = 10'000, kThrottlePeriodMs = 4'000;
  constexpr uint32_t kRateLimit = 3, kThrottleLimit = 2, kThrottleBurst = 2;
  InFlight in_flight;
  auto noop = [](Context& ctx, const Event&) -> Task<void> { co_await ctx.run("work", [] {}); };
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function(
                     {.id = "rate",
                      .triggers = {on_event("go")},
                      .rate_limit = RateLimit{.limit = kRateLimit,
                                              .period = std::chrono::milliseconds(kRatePeriodMs),
                                              .key = "data.k",
                                              .burst = kRateLimit}},
                     noop)
                    .ok());
    ASSERT_TRUE(
        e.register_function(
             {.id = "throttle",
              .triggers = {on_event("go")},
              .throttle = ThrottleLimit{.limit = kThrottleLimit,
                                        .period = std::chrono::milliseconds(kThrottlePeriodMs),
                                        .burst = kThrottleBurst,
                                        .key = "data.k"}},
             noop)
            .ok());
    ASSERT_TRUE(e.register_function({.id = "slots",
                                     .triggers = {on_event("go")},
                                     .concurrency = {{.limit = 1, .key = "data.k"}}},
                                    busy_function(in_flight, 1ms))
                    .ok());
  };
  std::mt19937_64 rng(20261130);
  start(setup);
  std::vector<RunId> rate_runs, throttle_runs, slot_runs;
  for (int i = 0; i < 240; ++i) {
    auto sent = engine_->send(keyed("go", "k" + std::to_string(rng() % 4)));
    ASSERT_TRUE(sent.ok()) << sent.status().to_string();
    ASSERT_EQ(sent->runs.size(), 3u);
    rate_runs.push_back(sent->runs[0]);
    throttle_runs.push_back(sent->runs[1]);
    slot_runs.push_back(sent->runs[2]);
    if (rng() % 4 == 0) clock_->advance(std::chrono::milliseconds(rng() % 3000));
    if (rng() % 60 == 0) {
      stop();
      start(setup);
    }
  }
  // Let every delayed run come due: the clock moves on only once the engine has caught up, as
  // a real one would while runs wait (a clock that leapt ahead would leave runs delayed behind
  // a frozen "now").
  auto throttled_done = [&] {
    for (RunId id : throttle_runs) {
      if (status_of(id) != RunStatus::kCompleted) return false;
    }
    return true;
  };
  for (int i = 0; i < 400 && !throttled_done(); ++i) {
    clock_->advance(std::chrono::milliseconds(kThrottlePeriodMs / 2));
    std::this_thread::sleep_for(2ms);
  }
  auto admissions = [&](const std::vector<RunId>& runs, bool* lost) {
    std::map<std::string, std::vector<int64_t>> by_key;
    for (RunId id : runs) {
      const RunInfo info = wait(id);
      auto h = engine_->run_history(id);
      if (!h.ok()) {
        *lost = true;
        continue;
      }
      int admitted = 0;
      for (const HistoryEntry& e : *h) {
        if (e.kind != HistoryEntry::Kind::kAdmitted) continue;
        ++admitted;
        by_key[key_of(info.event)].push_back(
            std::chrono::duration_cast<std::chrono::milliseconds>(e.at.time_since_epoch()).count());
      }
      EXPECT_LE(admitted, 1) << "run " << id << " was admitted twice";
      const bool completed = info.status == RunStatus::kCompleted;
      EXPECT_TRUE(completed || info.status == RunStatus::kSkipped)
          << "run " << id << " ended " << run_status_name(info.status);
      EXPECT_EQ(admitted == 1, completed) << "run " << id;
    }
    return by_key;
  };
  auto most_in_a_window = [](std::vector<int64_t> times, int64_t period) {
    std::sort(times.begin(), times.end());
    size_t most = 0;
    for (size_t i = 0, j = 0; i < times.size(); ++i) {
      while (times[i] - times[j] >= period) ++j;
      most = std::max(most, i - j + 1);
    }
    return most;
  };
  bool lost = false;
  size_t rate_admitted = 0;
  for (const auto& [key, times] : admissions(rate_runs, &lost)) {
    EXPECT_LE(most_in_a_window(times, kRatePeriodMs), kRateLimit) << key;
    rate_admitted += times.size();
  }
  size_t throttle_admitted = 0;
  for (const auto& [key, times] : admissions(throttle_runs, &lost)) {
    // Delayed, a key's runs start in the order they came (times are in run order here).
    EXPECT_TRUE(std::is_sorted(times.begin(), times.end())) << key;
    EXPECT_LE(most_in_a_window(times, kThrottlePeriodMs), kThrottleLimit + kThrottleBurst - 1)
        << key;
    throttle_admitted += times.size();
  }
  EXPECT_FALSE(lost);
  EXPECT_EQ(throttle_admitted, throttle_runs.size()) << "a throttled run was dropped";
  EXPECT_GT(rate_admitted, 0u);
  EXPECT_LT(rate_admitted, rate_runs.size()) << "the rate limit never refused anything";
  for (RunId id : slot_runs) EXPECT_EQ(wait(id).status, RunStatus::kCompleted);
  std::lock_guard lock(in_flight.mu);
  for (const auto& [key, m] : in_flight.max) EXPECT_EQ(m, 1) << key;
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

TEST_F(FlowTest, BulkCancelByFunctionAndTimeRange) {
  auto nap = [](Context& ctx, const Event&) -> Task<void> { co_await ctx.sleep("nap", 1h); };
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "a", .triggers = {on_event("go")}}, nap).ok());
    ASSERT_TRUE(e.register_function({.id = "b", .triggers = {on_event("go")}}, nap).ok());
  });
  std::vector<RunId> early_a, late_a, b_runs;
  for (int i = 0; i < 3; ++i) {
    auto sent = engine_->send({.name = "go"});
    ASSERT_TRUE(sent.ok());
    early_a.push_back(sent->runs[0]);
    b_runs.push_back(sent->runs[1]);
  }
  clock_->advance(10min);
  const TimePoint cut = TimePoint(std::chrono::milliseconds(clock_->now_ms()));
  for (int i = 0; i < 2; ++i) {
    auto sent = engine_->send({.name = "go"});
    ASSERT_TRUE(sent.ok());
    late_a.push_back(sent->runs[0]);
    b_runs.push_back(sent->runs[1]);
  }
  auto n = engine_->cancel_runs({.function_id = "a", .created_before = cut}, "bulk");
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(*n, 3u);
  for (RunId id : early_a) {
    const RunInfo r = wait(id);
    EXPECT_EQ(r.status, RunStatus::kCancelled);
    EXPECT_EQ(r.error, "bulk");
  }
  for (RunId id : late_a) EXPECT_FALSE(is_finished(status_of(id)));
  for (RunId id : b_runs) EXPECT_FALSE(is_finished(status_of(id)));
  auto rest = engine_->cancel_runs({.function_id = "a"});
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(*rest, 2u);
  auto none = engine_->cancel_runs({.function_id = "a", .status = RunStatus::kCompleted});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

auto napping() {
  return [](Context& ctx, const Event&) -> Task<void> {
    co_await ctx.run("a", [] {});
    co_await ctx.sleep("nap", 1h);
  };
}

TEST_F(FlowTest, ASingletonSkipsANewRunWhileOneOfItsKeyIsUnfinished) {
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "single",
                                     .triggers = {on_event("go")},
                                     .singleton = Singleton{.key = "data.k"}},
                                    napping())
                    .ok());
  });
  const RunId a = send_one(keyed("go", "k1"));
  ASSERT_TRUE(eventually([&] { return status_of(a) == RunStatus::kSleeping; }));
  const RunInfo b = wait(send_one(keyed("go", "k1")));
  EXPECT_EQ(b.status, RunStatus::kSkipped);
  EXPECT_NE(b.error.find("singleton: run " + std::to_string(a) + " of key \"k1\""),
            std::string::npos)
      << b.error;
  const RunId c = send_one(keyed("go", "k2"));  // another key runs
  ASSERT_TRUE(eventually([&] { return status_of(c) == RunStatus::kSleeping; }));
  clock_->advance(2h);
  EXPECT_EQ(wait(a).status, RunStatus::kCompleted);
  const RunId d = send_one(keyed("go", "k1"));  // a finished: its key is free again
  ASSERT_TRUE(eventually([&] { return status_of(d) == RunStatus::kSleeping; }));
}

TEST_F(FlowTest, ASingletonInCancelModeReplacesTheUnfinishedRunAcrossARestart) {
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(
        e.register_function({.id = "single",
                             .triggers = {on_event("go")},
                             .singleton = Singleton{.mode = Singleton::Mode::kCancelRunning}},
                            napping())
            .ok());
  };
  start(setup);
  const RunId a = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(a) == RunStatus::kSleeping; }));
  const RunId b = send_one({.name = "go"});
  const RunInfo old = wait(a);
  EXPECT_EQ(old.status, RunStatus::kCancelled);
  EXPECT_EQ(old.error, "singleton: replaced by run " + std::to_string(b));
  ASSERT_TRUE(eventually([&] { return status_of(b) == RunStatus::kSleeping; }));
  stop();
  start(setup);  // the singleton's holder is rebuilt: a new run replaces b
  const RunId c = send_one({.name = "go"});
  EXPECT_EQ(wait(b).status, RunStatus::kCancelled);
  ASSERT_TRUE(eventually([&] { return status_of(c) == RunStatus::kSleeping; }));
}

class IdempotencyTest : public FlowTest, public ::testing::WithParamInterface<bool> {};

// "once": one step counted in `ran`, for events "order" with an idempotency key of data.order_id
// and a window of an hour.
void register_once(Engine& e, std::atomic<int>& ran) {
  ASSERT_TRUE(e.register_function({.id = "once",
                                   .triggers = {on_event("order")},
                                   .idempotency = "data.order_id",
                                   .idempotency_window = 1h},
                                  [&ran](Context& ctx, const Event&) -> Task<void> {
                                    co_await ctx.run("work", [&] { ++ran; });
                                  })
                  .ok());
}

TEST_P(IdempotencyTest, AKeyStartsOneRunPerWindowAcrossRestarts) {
  options_.snapshots = GetParam();
  std::atomic<int> ran{0};
  auto setup = [&](Engine& e) { register_once(e, ran); };
  start(setup);
  const Event order{.name = "order", .data = R"({"order_id":"o-1"})"};
  const RunId first = send_one(order);
  EXPECT_EQ(wait(first).status, RunStatus::kCompleted);
  const RunInfo again = wait(send_one(order));
  EXPECT_EQ(again.status, RunStatus::kSkipped);
  EXPECT_NE(
      again.error.find("idempotency key \"o-1\" already started run " + std::to_string(first)),
      std::string::npos)
      << again.error;
  EXPECT_EQ(wait(send_one({.name = "order", .data = R"({"order_id":"o-2"})"})).status,
            RunStatus::kCompleted);
  stop();
  start(setup);
  EXPECT_EQ(wait(send_one(order)).status, RunStatus::kSkipped);
  clock_->advance(61min);
  EXPECT_EQ(wait(send_one(order)).status, RunStatus::kCompleted);
  EXPECT_EQ(ran.load(), 3);
}

INSTANTIATE_TEST_SUITE_P(WithAndWithoutSnapshots, IdempotencyTest, ::testing::Bool());

// A function holding idempotency_keys_max keys queues a run of a new key until keys leave their
// window: it runs then, once; a repeated key is still skipped meanwhile; nothing is lost across a
// restart.
TEST_F(FlowTest, PastIdempotencyKeysMaxARunOfANewKeyWaitsAndRunsOnceThereIsRoom) {
  options_.idempotency_keys_max = 2;
  std::atomic<int> ran{0};
  auto setup = [&](Engine& e) { register_once(e, ran); };
  auto order = [](const char* id) {
    return Event{.name = "order", .data = std::string(R"({"order_id":")") + id + "\"}"};
  };
  start(setup);
  EXPECT_EQ(wait(send_one(order("o-1"))).status, RunStatus::kCompleted);
  EXPECT_EQ(wait(send_one(order("o-2"))).status, RunStatus::kCompleted);
  const RunId third = send_one(order("o-3"));
  clock_->advance(5s);  // decided again each second: still no room
  EXPECT_EQ(status_of(third), RunStatus::kQueued);
  EXPECT_EQ(wait(send_one(order("o-1"))).status, RunStatus::kSkipped);
  EXPECT_EQ(ran.load(), 2);
  stop();
  start(setup);
  EXPECT_EQ(status_of(third), RunStatus::kQueued);
  clock_->advance(2min);  // sweeps, but o-1 and o-2 are within their window
  EXPECT_EQ(status_of(third), RunStatus::kQueued);
  EXPECT_EQ(ran.load(), 2);
  clock_->advance(60min);  // o-1 and o-2 leave their window; the sweep drops them
  EXPECT_EQ(wait(third).status, RunStatus::kCompleted);
  EXPECT_EQ(ran.load(), 3);
}

TEST_F(FlowTest, BadSingletonAndIdempotencyOptionsAreRefused) {
  auto engine = Engine::create(options_);
  auto body = [](Context&, const Event&) -> Task<void> { co_return; };
  Status st =
      engine->register_function({.id = "a", .singleton = Singleton{.key = "data.x y"}}, body);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
  st = engine->register_function({.id = "b", .idempotency = "data.id", .idempotency_window = 10ms},
                                 body);
  EXPECT_NE(st.message().find("idempotency_window 10 ms is out of range"), std::string::npos)
      << st.to_string();
  st = engine->register_function({.id = "c", .idempotency = "id"}, body);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

TEST_F(FlowTest, ACancelledRunKeepsItsSlotUntilItsStepEnds) {
  std::atomic<bool> release{false};
  std::atomic<int> running{0}, most{0};
  start([&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "one",
                                     .triggers = {on_event("go")},
                                     .concurrency = {{.limit = 1}},
                                     .cancel_on = {{.event = "stop", .match = "data.k"}}},
                                    [&](Context& ctx, const Event&) -> Task<void> {
                                      auto body = [&] {
                                        most = std::max(most.load(), ++running);
                                        while (!release.load()) std::this_thread::sleep_for(1ms);
                                        --running;
                                      };
                                      co_await ctx.run("work", body);
                                    })
                    .ok());
  });
  const RunId a = send_one(keyed("go", "a"));
  ASSERT_TRUE(eventually([&] { return running.load() == 1; }));
  const RunId b = send_one(keyed("go", "b"));
  ASSERT_TRUE(engine_->send(keyed("stop", "a")).ok());
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(status_of(b), RunStatus::kQueued) << "b started while a's step still ran";
  release = true;
  EXPECT_EQ(wait(a).status, RunStatus::kCancelled);
  EXPECT_EQ(wait(b).status, RunStatus::kCompleted);
  EXPECT_EQ(most.load(), 1);
}

}  // namespace
}  // namespace cairn
