// The real-time Clock.
#include <algorithm>
#include <chrono>

#include "cairn/clock.h"

namespace cairn {
namespace {

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t now_us() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::chrono::nanoseconds real_wait_until(int64_t deadline_ms) const override {
    // Capped at a day: the caller looks again, and a deadline centuries away would overflow as
    // nanoseconds (milliseconds::max() is 292 million years; nanoseconds hold 292).
    constexpr int64_t kDayMs = 86'400'000;
    return std::chrono::milliseconds(std::clamp<int64_t>(deadline_ms - now_ms(), 0, kDayMs));
  }
  uint64_t subscribe(std::function<void()>) override { return 0; }  // never jumps
  void unsubscribe(uint64_t) override {}
};

}  // namespace

std::shared_ptr<Clock> system_clock() {
  static const std::shared_ptr<Clock> clock = std::make_shared<SystemClock>();
  return clock;
}

}  // namespace cairn
