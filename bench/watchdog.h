// Watchdog: turns a hang into a report. While armed, if `limit` passes before it is destroyed, it
// calls `report` (which prints what is stuck) and ends the process with exit code 1, so a
// benchmark that loses a completion fails loudly instead of running forever.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace cairn::bench {

class Watchdog {
 public:
  Watchdog(std::string what, std::chrono::milliseconds limit, std::function<void()> report)
      : what_(std::move(what)), report_(std::move(report)) {
    thread_ = std::thread([this, limit] {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, limit, [this] { return disarmed_; })) return;
      std::fprintf(stderr, "cairn-bench: HANG: %s did not finish within %lld ms\n", what_.c_str(),
                   static_cast<long long>(limit.count()));
      if (report_) report_();
      std::fflush(stderr);
      std::_Exit(1);
    });
  }
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      disarmed_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::string what_;
  std::function<void()> report_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool disarmed_ = false;
  std::thread thread_;
};

}  // namespace cairn::bench
