// Cron triggers: each tick starts exactly one run with the tick in its event; ticks that fell while
// the engine was stopped run at the next start, once (with and without a snapshot), beyond the
// catch-up limit the older ones are skipped and counted; tracking begins at the first start, so
// ticks missed before any run still run; bad triggers are refused at registration.
#include <algorithm>
#include <mutex>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine_fixture.h"

namespace cairn {
namespace {

using testing::EngineTest;
using namespace std::chrono_literals;

// The fixture's clock starts at 2023-11-14T22:13:20Z: the first 5-minute tick is 100 s later.
constexpr int64_t kFirstTickMs = 1'700'000'100'000;
constexpr int64_t kFiveMinutesMs = 300'000;

class CronTest : public EngineTest {
 protected:
  CronTest() { options_.workers = 2; }

  void setup(Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "report", .triggers = {on_cron("*/5 * * * *")}},
                                    [this](Context& ctx, const Event& event) -> Task<void> {
                                      auto body = [this, &event] {
                                        const auto data = nlohmann::json::parse(event.data);
                                        std::lock_guard lock(mu_);
                                        executed_.push_back(data.at("tick_ms").get<int64_t>());
                                        EXPECT_EQ(event.name, "cairn/cron.tick");
                                        EXPECT_EQ(data.at("cron"), "*/5 * * * *");
                                        EXPECT_EQ(event.ts_ms, data.at("tick_ms").get<int64_t>());
                                      };
                                      co_await ctx.run("report", body);
                                    })
                    .ok());
  }
  void start_engine() {
    start([this](Engine& e) { setup(e); });
  }
  size_t executed() {
    std::lock_guard lock(mu_);
    return executed_.size();
  }
  // Waits for `n` executed ticks and checks they are n consecutive ticks from `first`, each once.
  void expect_ticks(size_t n, int64_t first = kFirstTickMs) {
    ASSERT_TRUE(eventually([&] { return executed() >= n; })) << executed() << " of " << n;
    std::this_thread::sleep_for(50ms);  // one more would show up now
    std::lock_guard lock(mu_);
    ASSERT_EQ(executed_.size(), n);
    std::vector<int64_t> sorted = executed_;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(sorted[i], first + static_cast<int64_t>(i) * kFiveMinutesMs) << i;
    }
  }

  std::mutex mu_;
  std::vector<int64_t> executed_;  // the tick of every run's step body, as it ran
};

TEST_F(CronTest, EachTickStartsExactlyOneRun) {
  start_engine();
  clock_->advance(99s);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(executed(), 0u) << "a run before the first tick";
  clock_->advance(1s);
  expect_ticks(1);
  clock_->advance(5min);
  expect_ticks(2);
  clock_->advance(1h);  // twelve ticks at once: each runs, in turn
  expect_ticks(14);
  const RunPage page = engine_->list_runs({.function_id = "report"});
  EXPECT_EQ(page.runs.size(), 14u);
  std::set<std::string> ids;
  for (const RunInfo& r : page.runs) ids.insert(r.event.id);
  EXPECT_EQ(ids.size(), 14u);
  EXPECT_EQ(*ids.begin(), "cron:report:2023-11-14T22:15:00Z");
  bool listed = false;
  for (const FunctionStats& f : engine_->function_stats()) {
    if (f.id == "report") listed = f.triggers == std::vector<std::string>{"cron: */5 * * * *"};
  }
  EXPECT_TRUE(listed);
}

class CronRestartTest : public CronTest, public ::testing::WithParamInterface<bool> {
 protected:
  CronRestartTest() { use_snapshots(GetParam()); }
};

TEST_P(CronRestartTest, TicksMissedWhileStoppedRunOnceAtTheNextStart) {
  start_engine();
  clock_->advance(100s);
  expect_ticks(1);
  stop();
  clock_->advance(30min);  // six ticks fall while the engine is stopped
  start_engine();
  expect_ticks(7);
  stop();
  start_engine();  // nothing new is due: nothing runs again
  expect_ticks(7);
  clock_->advance(5min);
  expect_ticks(8);
}

TEST_P(CronRestartTest, TrackingBeginsAtTheFirstStartEvenBeforeAnyRun) {
  start_engine();
  stop();  // before the first tick
  clock_->advance(20min);
  start_engine();
  expect_ticks(4);
}

INSTANTIATE_TEST_SUITE_P(Snapshots, CronRestartTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "snapshot" : "replay"; });

TEST_F(CronTest, BeyondTheCatchUpLimitOlderTicksAreSkippedAndCounted) {
  options_.cron_catch_up_max = 3;
  start_engine();
  clock_->advance(100s);
  expect_ticks(1);
  stop();
  clock_->advance(1h);  // twelve ticks missed: the newest three run, nine are skipped
  start_engine();
  ASSERT_TRUE(eventually([&] { return executed() == 4; }));
  std::this_thread::sleep_for(50ms);
  {
    std::lock_guard lock(mu_);
    std::vector<int64_t> sorted = executed_;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (std::vector<int64_t>{kFirstTickMs, kFirstTickMs + 10 * kFiveMinutesMs,
                                            kFirstTickMs + 11 * kFiveMinutesMs,
                                            kFirstTickMs + 12 * kFiveMinutesMs}));
  }
  EXPECT_EQ(engine_->stats().cron_ticks_skipped, 9u);
  stop();
  start_engine();  // the skip is recorded: a restart neither runs nor skips them again
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(executed(), 4u);
  EXPECT_EQ(engine_->stats().cron_ticks_skipped, 0u);
}

TEST_F(CronTest, ATriggerInANamedTimeZoneTicksOnItsWallClock) {
  std::mutex mu;
  std::vector<std::string> seen;
  start([&](Engine& e) {
    ASSERT_TRUE(
        e.register_function({.id = "nightly", .triggers = {on_cron("0 0 * * *", "Europe/Berlin")}},
                            [&](Context& ctx, const Event& event) -> Task<void> {
                              auto body = [&mu, &seen, data = event.data] {
                                std::lock_guard lock(mu);
                                seen.push_back(data);
                              };
                              co_await ctx.run("report", body);
                            })
            .ok());
  });
  // Midnight in Berlin (CET, UTC+1) is 23:00 UTC: 2,800 s after the fixture's 22:13:20.
  clock_->advance(2799s);
  std::this_thread::sleep_for(50ms);
  {
    std::lock_guard lock(mu);
    EXPECT_TRUE(seen.empty()) << "it ticked on UTC midnight's side of the day";
  }
  clock_->advance(1s);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return seen.size() == 1;
  }));
  const auto data = nlohmann::json::parse(seen.front());
  EXPECT_EQ(data.at("timezone"), "Europe/Berlin");
  EXPECT_EQ(data.at("tick"), "2023-11-14T23:00:00Z");
  EXPECT_EQ(data.at("tick_ms"), 1'700'002'800'000);
}

TEST_F(CronTest, BadCronTriggersAreRefusedAtRegistration) {
  auto engine = Engine::create(options_);
  auto body = [](Context&, const Event&) -> Task<void> { co_return; };
  auto refused = [&](FunctionOptions o, std::string_view says) {
    testing::expect_refused(*engine, std::move(o), says);
  };
  refused({.id = "a", .triggers = {on_cron("0 25 * * *")}}, "field 2 (hour): 25 is out of range");
  refused({.id = "b", .triggers = {on_cron("0 0 30 2 *")}}, "can never fire");
  refused({.id = "c", .triggers = {Trigger{.event = "x", .cron = "* * * * *"}}},
          "both an event name");
  refused({.id = "d", .triggers = {on_cron("@hourly"), on_cron("@hourly")}}, "given twice");
  refused({.id = "e", .triggers = {Trigger{}}}, "needs an event name or a cron expression");
  refused({.id = "f", .triggers = {on_cron("@daily", "Mars/Olympus_Mons")}},
          "time zone \"Mars/Olympus_Mons\" is not known");
  refused({.id = "g", .triggers = {Trigger{.event = "x", .timezone = "Europe/Berlin"}}},
          "a time zone (Europe/Berlin) but no cron expression");
  EXPECT_TRUE(engine->register_function({.id = "a", .triggers = {on_cron("@hourly")}}, body).ok());
}

}  // namespace
}  // namespace cairn
