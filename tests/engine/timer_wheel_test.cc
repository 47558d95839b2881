// The hierarchical timer wheel fires every timer exactly once, never early, across every level and
// the overflow list; replaced and cancelled timers do not fire.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "timer_wheel.h"

namespace cairn::detail {
namespace {

TEST(TimerWheel, FiresEachTimerOnceAndNeverEarlyAcrossAllLevels) {
  const int64_t start = 1'700'000'000'000;
  TimerWheel wheel(start);
  std::mt19937_64 rng(42);
  std::map<RunId, int64_t> deadline;
  // Deadlines from the past to years ahead: every level and the overflow list.
  const int64_t spans[] = {0, 1, 63, 64, 4095, 4096, 1 << 20, int64_t{1} << 30, int64_t{1} << 37};
  RunId id = 1;
  for (int64_t span : spans) {
    for (int i = 0; i < 200; ++i, ++id) {
      const int64_t d = start - 5 + static_cast<int64_t>(rng() % static_cast<uint64_t>(span + 10));
      deadline[id] = d;
      wheel.arm(id, 7, 0, d);
    }
  }
  std::map<RunId, int64_t> fired;
  int64_t now = start;
  std::vector<TimerEntry> due;
  // Advance in irregular steps, sometimes small, sometimes huge.
  while (fired.size() < deadline.size()) {
    const int64_t next = wheel.next_deadline();
    ASSERT_NE(next, INT64_MAX) << "timers left but none scheduled";
    const int64_t step = (rng() % 3 == 0) ? std::max<int64_t>(0, next - now) : 1 + rng() % 5000;
    now += step;
    due.clear();
    wheel.advance(now, &due);
    for (const TimerEntry& e : due) {
      EXPECT_LE(e.deadline_ms, now) << "fired early";
      EXPECT_EQ(e.position, 7u);
      EXPECT_TRUE(fired.emplace(e.run, now).second) << "fired twice: " << e.run;
    }
  }
  for (auto& [run, d] : deadline) EXPECT_EQ(fired.count(run), 1u) << run;
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, NextDeadlineIsALowerBoundOfWhatIsDue) {
  TimerWheel wheel(1000);
  wheel.arm(1, 0, 0, 1000 + 70'000);
  const int64_t bound = wheel.next_deadline();
  EXPECT_LE(bound, 1000 + 70'000);
  EXPECT_GT(bound, 1000);
  std::vector<TimerEntry> due;
  wheel.advance(bound - 1, &due);
  EXPECT_TRUE(due.empty());
}

TEST(TimerWheel, ReplacedAndCancelledTimersDoNotFire) {
  TimerWheel wheel(0);
  wheel.arm(1, 0, 0, 100);
  wheel.arm(1, 1, 0, 500);  // replaces the first
  wheel.arm(2, 0, 0, 100);
  wheel.cancel(2);
  std::vector<TimerEntry> due;
  wheel.advance(200, &due);
  EXPECT_TRUE(due.empty());
  wheel.advance(600, &due);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].run, 1u);
  EXPECT_EQ(due[0].position, 1u);
}

TEST(TimerWheel, ADeadlineInThePastIsDueAtTheNextAdvance) {
  TimerWheel wheel(10'000);
  wheel.arm(3, 0, 0, 5);
  std::vector<TimerEntry> due;
  wheel.advance(10'000, &due);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].run, 3u);
}

}  // namespace
}  // namespace cairn::detail
