// The cron check (h) can fail: a fabricated history of the ticker — tracking begins, ticks run one
// after the other, a restart skips some with a CronCursor, more ticks run — passes, and each kind
// of wrong history the crash test looks for is planted in a copy and must be reported. (Made up
// rather than taken from a child: how many ticks a child sees depends on the machine's speed.)
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "engine_crash/crash_checks.h"
#include "engine_crash/fast_clock.h"
#include "engine_crash/log_facts.h"
#include "engine_crash/timed_workload.h"
#include "engine_crash/violation_match.h"

namespace cairn::engine_crash {
namespace {

constexpr int64_t kTrackingBegan = kFastClockStartMs + 12'345;  // not on a tick
constexpr int64_t kFirstTick = kFastClockStartMs + kTickMs;

class CronChecksTest : public ::testing::Test {
 protected:
  // Ticks 1..3 run, the cursor skips ticks 4..6, ticks 7..9 run.
  void SetUp() override {
    cursor(kTrackingBegan, 0);
    for (int i = 1; i <= 3; ++i) tick_run(tick(i));
    cursor(tick(6), 3);
    for (int i = 7; i <= 9; ++i) tick_run(tick(i));
  }

  static int64_t tick(int i) { return kFirstTick + (i - 1) * kTickMs; }

  void cursor(int64_t tick_ms, uint64_t skipped) {
    facts.cron_cursors.push_back(
        {next_lsn(), std::string(kTickerFunction), std::string(kTickerCron), tick_ms, skipped});
  }

  // A tick's run as the engine records it: RunCreated, its step, RunCompleted.
  RunFacts& tick_run(int64_t tick_ms) {
    RunFacts& r = facts.runs[++last_run_];
    r.id = last_run_;
    r.function_id = std::string(kTickerFunction);
    r.cron_expression = std::string(kTickerCron);
    r.cron_tick_ms = tick_ms;
    r.input = nlohmann::json{{"cron", kTickerCron}, {"tick_ms", tick_ms}}.dump();
    r.created_lsn = next_lsn();
    r.times_created = 1;
    r.completed.push_back({next_lsn(), 0, "tick", 1, tick_output(tick_ms).dump()});
    r.completions.emplace_back(next_lsn(), tick_output(tick_ms).dump());
    r.finished_lsn = r.completions.back().first;
    return r;
  }

  RunFacts& run_of_tick(int64_t tick_ms) {
    for (auto& [id, r] : facts.runs) {
      if (r.cron_tick_ms == tick_ms) return r;
    }
    throw std::logic_error("no such tick");
  }

  CrashVerdict verdict() const {
    CrashVerdict v;
    check_cron(facts, &v);
    return v;
  }

  ::testing::AssertionResult reported(std::string_view text) const {
    return mentions(verdict().violations, text);
  }

  uint64_t next_lsn() { return lsn_ += 10; }

  LogFacts facts;
  uint64_t lsn_ = 1000;
  uint64_t last_run_ = 0;
};

TEST_F(CronChecksTest, AHistoryWithTicksRunAndSkippedPasses) {
  const CrashVerdict v = verdict();
  std::string all;
  for (const std::string& s : v.violations) all += "\n  " + s;
  EXPECT_TRUE(v.violations.empty()) << all;
  EXPECT_EQ(v.summary.cron_runs, 6u);
  EXPECT_EQ(v.summary.cron_cursors, 2u);
  EXPECT_EQ(v.summary.cron_ticks_skipped, 3u);
  EXPECT_EQ(v.summary.cron_last_tick_ms, tick(9));
}

// (a) A tick has at most one run.
TEST_F(CronChecksTest, ATickRunTwiceIsReported) {
  tick_run(tick(9));
  EXPECT_TRUE(reported("has two runs"));
  EXPECT_TRUE(reported("it ran twice or out of order"));
}

// (b) Every tick from where tracking began to the last one has a run, or a CronCursor skipped it.
TEST_F(CronChecksTest, ALostTickIsReported) {
  facts.runs.erase(run_of_tick(tick(2)).id);
  EXPECT_TRUE(reported("1 ticks before it have no run and no CronCursor skipping them"));
}

TEST_F(CronChecksTest, ALostTickAfterASkipIsReported) {
  facts.runs.erase(run_of_tick(tick(7)).id);
  EXPECT_TRUE(reported("1 ticks before it have no run"));
}

TEST_F(CronChecksTest, ASkippingCursorThatMiscountsIsReported) {
  facts.cron_cursors[1].skipped_ticks = 2;
  EXPECT_TRUE(reported("so it skips 3 ticks"));
}

TEST_F(CronChecksTest, ASkippedTickThatRanAnywayIsReported) {
  facts.cron_cursors[1].tick_ms = tick(7);
  facts.cron_cursors[1].skipped_ticks = 4;  // counted right, but tick 7 runs after it
  EXPECT_TRUE(reported("this tick was accounted for already"));
}

TEST_F(CronChecksTest, ASecondStartOfTrackingIsReported) {
  cursor(tick(9) + 5, 0);
  tick_run(tick(10));
  EXPECT_TRUE(reported("later cursors only skip missed ticks"));
}

TEST_F(CronChecksTest, ATickBeforeTrackingBeganIsReported) {
  RunFacts& early = tick_run(kFastClockStartMs);
  early.created_lsn = 1;  // before the first CronCursor
  EXPECT_TRUE(reported("comes before any CronCursor: tracking never began"));
}

// (c) Every tick's run completes exactly once; only the newest may be unfinished (the final
// incarnation can shut down just after creating it).
TEST_F(CronChecksTest, ATickRunThatNeverFinishedOrFinishedTwiceIsReported) {
  RunFacts& newest = run_of_tick(tick(9));
  newest.completions.clear();
  EXPECT_TRUE(verdict().violations.empty());
  EXPECT_EQ(verdict().summary.cron_unfinished_at_end, 1u);
  RunFacts& older = run_of_tick(tick(8));
  older.completions.clear();
  EXPECT_TRUE(reported("has 0 RunCompleted, 0 RunFailed, 0 RunCancelled"));
  EXPECT_EQ(verdict().violations.size(), 1u);  // tick 8's alone
  run_of_tick(tick(3)).completions.emplace_back(5'000'000, tick_output(tick(3)).dump());
  EXPECT_TRUE(reported("has 2 RunCompleted"));
}

TEST_F(CronChecksTest, ATickRunOfAnotherTickIsReported) {
  run_of_tick(tick(2)).input = nlohmann::json{{"cron", kTickerCron}, {"tick_ms", 1}}.dump();
  EXPECT_TRUE(reported("does not name its tick"));
}

// (d) The crash test counts the ticks that fell while no child was alive.
TEST_F(CronChecksTest, TicksWithinDeadSpansAreCounted) {
  EXPECT_EQ(cron_ticks_within(facts, {{tick(1), tick(1)}, {tick(5), tick(8) - 1}}), 2u);
  EXPECT_EQ(cron_ticks_within(facts, {{tick(4), tick(6)}}), 0u);  // skipped, never ran
}

}  // namespace
}  // namespace cairn::engine_crash
