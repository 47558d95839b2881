// TimerService (see timer_service.h).
#include "timer_service.h"

#include <algorithm>
#include <climits>

namespace cairn::detail {

TimerService::TimerService(std::shared_ptr<Clock> clock, FireFn fire)
    : clock_(std::move(clock)), fire_(std::move(fire)), wheel_(clock_->now_ms()) {
  subscription_ = clock_->subscribe([this] {
    {
      std::lock_guard lock(mu_);
      kicked_ = true;
    }
    cv_.notify_all();
  });
}

TimerService::~TimerService() {
  clock_->unsubscribe(subscription_);
  stop();
}

void TimerService::start() {
  thread_ = std::thread([this] { run(); });
}

void TimerService::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TimerService::arm(RunId run, uint32_t position, uint8_t reason, int64_t deadline_ms) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    wheel_.arm(run, position, reason, deadline_ms);
    if (deadline_ms < sleeping_until_) {
      kicked_ = true;
      wake = true;
    }
  }
  if (wake) cv_.notify_all();
}

void TimerService::cancel(RunId run) {
  std::lock_guard lock(mu_);
  wheel_.cancel(run);
}

size_t TimerService::size() const {
  std::lock_guard lock(mu_);
  return wheel_.size();
}

void TimerService::run() {
  // The clock is read without holding mu_: a ManualClock calls back into arm()'s lock while
  // holding its own.
  std::vector<TimerEntry> due;
  for (;;) {
    const int64_t now = clock_->now_ms();
    int64_t next;
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      due.clear();
      wheel_.advance(now, &due);
      next = wheel_.next_deadline();
      sleeping_until_ = due.empty() ? next : INT64_MIN;
      kicked_ = false;
    }
    if (!due.empty()) {
      fire_(due);
      continue;
    }
    // At most an hour at a time, then look again. Not only a bound: a deadline centuries away (a
    // sleep or backoff near milliseconds::max()) overflowed when turned into nanoseconds.
    constexpr int64_t kWaitMaxMs = 3'600'000;
    std::chrono::nanoseconds wait = std::chrono::milliseconds(kWaitMaxMs);
    if (next != INT64_MAX) {
      wait = std::min<std::chrono::nanoseconds>(
          clock_->real_wait_until(next),
          std::chrono::milliseconds(std::min<int64_t>(next - now, kWaitMaxMs)));
      wait = std::max<std::chrono::nanoseconds>(wait, std::chrono::microseconds(200));
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [&] { return stop_ || kicked_; });
    sleeping_until_ = INT64_MIN;
  }
}
}  // namespace cairn::detail
