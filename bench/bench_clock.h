// The benchmark's clock: monotonic nanoseconds (vDSO clock_gettime, ~20 ns) and sleeping for a
// fraction of a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>

namespace cairn::bench {

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline double seconds_between(int64_t from_ns, int64_t to_ns) {
  return static_cast<double>(to_ns - from_ns) / 1e9;
}

inline void sleep_seconds(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

}  // namespace cairn::bench
