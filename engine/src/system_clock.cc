// The real-time Clock.
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
    return std::chrono::milliseconds(std::max<int64_t>(0, deadline_ms - now_ms()));
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
