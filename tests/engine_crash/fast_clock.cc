// FastClock (see fast_clock.h).
#include "engine_crash/fast_clock.h"

namespace cairn::engine_crash {

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t FastClock::us_at(int64_t steady_ns) const {
  // (ns * speed) / 1000: a fast microsecond per 1000 / speed real nanoseconds. 100 s of real time
  // at speed 1000 is 1e14, far from overflowing.
  return kFastClockStartMs * 1000 + (steady_ns - epoch_ns_) * speed_ / 1000;
}

std::chrono::nanoseconds FastClock::real_wait_until(int64_t deadline_ms) const {
  const int64_t fast_us = deadline_ms * 1000 - now_us();
  if (fast_us <= 0) return std::chrono::nanoseconds(0);
  // Rounded up: waking a little early would only make the timer thread wait again.
  return std::chrono::nanoseconds((fast_us * 1000 + speed_ - 1) / speed_);
}

}  // namespace cairn::engine_crash
