// The hierarchical timer wheel fires every timer exactly once, never early, across every level and
// the overflow list; replaced and cancelled timers do not fire.
#include <gtest/gtest.h>

#include <algorithm>
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

// Cancelled and replaced timers with distant deadlines (a day's finish timeout per run, cancelled
// when the run ends) do not stay in the wheel until their deadline: the entries it holds stay
// within a bound of the live timers, and the live ones still fire once, at their deadline.
TEST(TimerWheel, CancelledAndReplacedTimersDoNotPileUp) {
  const int64_t start = 1'700'000'000'000;
  const int64_t day = 24LL * 3600 * 1000;
  TimerWheel wheel(start);
  std::mt19937_64 rng(7);
  std::map<RunId, int64_t> deadline;                          // of the live timers
  const int64_t spans[] = {64, 4096, day, int64_t{1} << 37};  // up to the overflow list
  for (RunId id = 1; id <= 2000; ++id) {
    deadline[id] = start + 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(spans[id % 4]));
    wheel.arm(id, 3, 0, deadline[id]);
  }
  int64_t now = start;
  std::map<RunId, int64_t> fired;
  std::vector<TimerEntry> due;
  // Moves to `target` through every deadline on the way, so each fires exactly at its time.
  auto advance_to = [&](int64_t target) {
    for (;;) {
      const int64_t next = std::max(wheel.next_deadline(), now);
      now = std::min(next, target);
      due.clear();
      wheel.advance(now, &due);
      for (const TimerEntry& e : due) {
        EXPECT_EQ(e.deadline_ms, now) << "run " << e.run << " fired off its deadline";
        EXPECT_EQ(deadline.count(e.run), 1u) << "a cancelled or replaced timer fired: " << e.run;
        EXPECT_TRUE(fired.emplace(e.run, now).second) << "fired twice: " << e.run;
      }
      if (now == target) return;
    }
  };
  size_t most = 0;
  RunId next_id = 1'000'000;
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 10'000; ++i) {  // 100 k in all: ten times the bound below
      const RunId r = next_id++;
      wheel.arm(r, 0, 0, now + day);  // a run's finish timeout, cancelled when it ends
      wheel.cancel(r);
      if (i % 10 == 0) {  // a live timer replaced by one for the same deadline
        auto it = deadline.lower_bound(1 + rng() % 2000);
        if (it != deadline.end() && it->second > now && fired.count(it->first) == 0) {
          wheel.arm(it->first, 3, 0, it->second);
        }
      }
      most = std::max(most, wheel.entries());
    }
    advance_to(now + static_cast<int64_t>(rng() % 100'000));  // some live timers fire meanwhile
  }
  EXPECT_LE(most, 3 * deadline.size() + 4096 + 1)
      << "100 k armed-and-cancelled timers are still held (live: " << wheel.size() << ")";
  advance_to(start + (int64_t{1} << 37) + 2);
  EXPECT_EQ(fired.size(), deadline.size());
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.entries(), 0u);
}

}  // namespace
}  // namespace cairn::detail
