// FastClock: the crash test child's engine clock. Its time runs `speed` times faster than real
// time, continuously across the child's incarnations: every incarnation computes it from the same
// real-time epoch (a CLOCK_MONOTONIC instant the parent chose once, which every process on the
// machine reads alike), so a kill and a restart neither stop nor rewind it. That makes a cron
// minute pass in a fraction of a real second (ticks fall while a child is dead and must be caught
// up after the restart) without ever jumping the clock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>

#include "cairn/clock.h"

namespace cairn::engine_crash {

// The fast clock's time at its epoch: a whole minute (2027-01-15T08:00:00Z), so the first cron
// tick of an every-minute trigger comes one fast minute after the parent starts.
inline constexpr int64_t kFastClockStartMs = 1'800'000'000'000;

// Nanoseconds on the steady clock (CLOCK_MONOTONIC: one time line for every process here).
int64_t steady_now_ns();

class FastClock final : public Clock {
 public:
  FastClock(int64_t epoch_steady_ns, uint32_t speed) : epoch_ns_(epoch_steady_ns), speed_(speed) {}

  // The fast time (microseconds since the Unix epoch) at a steady-clock instant: the parent maps
  // the times it killed and restarted children with it.
  int64_t us_at(int64_t steady_ns) const;

  int64_t now_us() const override { return us_at(steady_now_ns()); }
  // Floored from now_us(), so a timer that fires at deadline_ms never records an earlier at_us.
  int64_t now_ms() const override { return now_us() / 1000; }
  std::chrono::nanoseconds real_wait_until(int64_t deadline_ms) const override;
  // The time never jumps (it only runs fast), so nobody needs waking.
  uint64_t subscribe(std::function<void()>) override { return next_id_.fetch_add(1) + 1; }
  void unsubscribe(uint64_t) override {}

 private:
  const int64_t epoch_ns_;
  const uint32_t speed_;
  std::atomic<uint64_t> next_id_{0};
};

}  // namespace cairn::engine_crash
