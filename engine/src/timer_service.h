// TimerService: the thread that owns the timer wheel. Apply arms and cancels timers (sleeps,
// wait timeouts, step retries); when one comes due the service hands it to `fire`, which appends
// the RunResumed record that moves the run on. Time comes from the engine's Clock.
#pragma once

#include <climits>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cairn/clock.h"
#include "timer_wheel.h"

namespace cairn::detail {

class TimerService {
 public:
  using FireFn = std::function<void(const std::vector<TimerEntry>&)>;
  TimerService(std::shared_ptr<Clock> clock, FireFn fire);
  ~TimerService();

  void start();
  void stop();
  void arm(RunId run, uint32_t position, uint8_t reason, int64_t deadline_ms);
  void cancel(RunId run);
  size_t size() const;

 private:
  void run();

  std::shared_ptr<Clock> clock_;
  FireFn fire_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  TimerWheel wheel_;
  int64_t sleeping_until_ = INT64_MAX;
  bool stop_ = false;
  bool kicked_ = false;
  uint64_t subscription_ = 0;
  std::thread thread_;
};

}  // namespace cairn::detail
