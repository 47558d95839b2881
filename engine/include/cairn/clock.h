// Clock: where the engine reads time, so tests (and later a simulator) can drive sleeps, retries
// and timeouts without waiting.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace cairn {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t now_ms() const = 0;
  // Microseconds since the Unix epoch (the timestamps records carry). Default: now_ms() * 1000.
  virtual int64_t now_us() const { return now_ms() * 1000; }
  // How long (real time) the timer thread may sleep before `deadline_ms` could be due. A clock
  // whose time only moves on command returns a long wait and calls on_advance's callback.
  virtual std::chrono::nanoseconds real_wait_until(int64_t deadline_ms) const = 0;
  // `wake` is called whenever the clock jumps forward (ManualClock::advance) until unsubscribed.
  virtual uint64_t subscribe(std::function<void()> wake) = 0;
  virtual void unsubscribe(uint64_t subscription) = 0;
};

// The system's real-time clock.
std::shared_ptr<Clock> system_clock();

// Time that moves only when a test says so.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'700'000'000'000) : now_ms_(start_ms) {}
  int64_t now_ms() const override {
    std::lock_guard lock(mu_);
    return now_ms_;
  }
  std::chrono::nanoseconds real_wait_until(int64_t) const override {
    return std::chrono::milliseconds(50);
  }
  uint64_t subscribe(std::function<void()> wake) override {
    std::lock_guard lock(mu_);
    wakes_.emplace_back(++next_id_, std::move(wake));
    return next_id_;
  }
  void unsubscribe(uint64_t subscription) override {
    std::lock_guard lock(mu_);
    std::erase_if(wakes_, [&](const auto& w) { return w.first == subscription; });
  }
  void advance(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    now_ms_ += d.count();
    for (auto& w : wakes_) w.second();
  }

 private:
  mutable std::mutex mu_;
  int64_t now_ms_;
  uint64_t next_id_ = 0;
  std::vector<std::pair<uint64_t, std::function<void()>>> wakes_;
};

}  // namespace cairn
