// ThroughputSampler: once a second, reads Engine::stats() and keeps how many steps completed
// and runs finished in that second, for the throughput plot. Holds at most `window` samples (a
// ring: the oldest goes when a new one comes).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "cairn/engine.h"

namespace cairn::web {

struct ThroughputSample {
  int64_t t_ms = 0;  // the end of the second it covers (Unix ms)
  uint64_t steps = 0;
  uint64_t runs_finished = 0;
};

class ThroughputSampler {
 public:
  ThroughputSampler(const Engine& engine, std::chrono::seconds window);
  ~ThroughputSampler();                           // stop()
  void stop();                                    // idempotent
  std::vector<ThroughputSample> samples() const;  // oldest first

 private:
  void loop();
  void take_sample();

  const Engine& engine_;
  const size_t samples_max_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<ThroughputSample> samples_;
  uint64_t last_steps_ = 0;
  uint64_t last_runs_finished_ = 0;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace cairn::web
