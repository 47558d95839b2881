// Limiter: the decision of a throttle (GCRA: excess is delayed) or a rate limit (excess is
// skipped) for one key, on a state of one 64-bit word that the caller keeps. Deterministic: the
// time is passed in, so replaying the recorded decisions with their recorded times rebuilds the
// same state (docs/flow-control.md). Immutable after creation; the caller serialises access to
// each state.
#pragma once

#include <cstdint>

#include "cairn/log/status.h"

namespace cairn::flow {

// One key's state: for the GCRA kinds the theoretical arrival time in nanoseconds since the Unix
// epoch, for a fixed window the window's number and its count. 0 is a key never seen.
using LimiterState = uint64_t;

// The largest limit and burst (a fixed window keeps its count in 20 bits).
inline constexpr uint32_t kLimiterLimitMax = 1'000'000;
// The longest period: 366 days.
inline constexpr int64_t kLimiterPeriodMsMax = int64_t{366} * 24 * 3600 * 1000;

// Throttle: at most `limit` starts per `period_ms` on average, `burst` of them at once after a
// quiet spell. Over any window of period_ms (half-open) at most limit + burst - 1 starts.
struct ThrottleOptions {
  // Starts per period. 1 - kLimiterLimitMax. Default: 1.
  uint32_t limit = 1;
  // The period in milliseconds. 1 - kLimiterPeriodMsMax. Default: 1000.
  int64_t period_ms = 1000;
  // Starts allowed back to back after a quiet spell. 1 - limit. Default: 1 (evenly spread).
  uint32_t burst = 1;
};

// Rate limit: at most `limit` admissions per `period_ms`; the excess is refused (skipped).
struct RateLimitOptions {
  enum class Window : uint8_t {
    // Over ANY window of period_ms (half-open) at most `limit`, exactly. A GCRA with emission
    // interval period/(limit - burst + 1): a burst is paid for with a lower sustained rate.
    kSliding,
    // At most `limit` in each window [k*period, (k+1)*period) counted from the Unix epoch: bursts
    // and the full sustained rate, but up to 2*limit in a window that straddles two.
    kFixed,
  };
  // Admissions per period. 1 - kLimiterLimitMax. Default: 1.
  uint32_t limit = 1;
  // The period in milliseconds. 1 - kLimiterPeriodMsMax. Default: 1000.
  int64_t period_ms = 1000;
  // kSliding only: admissions allowed back to back after a quiet spell. 1 - limit. Default: 1.
  uint32_t burst = 1;
  // Default: kSliding.
  Window window = Window::kSliding;
};

struct LimitDecision {
  bool allowed = false;
  // Allowed: now. Refused: the earliest time (ms) a request for this key could be allowed if
  // nothing else is admitted for it meanwhile; a throttle re-queues the run for then.
  int64_t retry_at_ms = 0;
};

class Limiter {
 public:
  enum class Kind : uint8_t { kThrottle, kSlidingRateLimit, kFixedRateLimit };

  // kInvalidArgument naming the option when a limit, period or burst is out of range.
  static Result<Limiter> throttle(const ThrottleOptions& options);
  static Result<Limiter> rate_limit(const RateLimitOptions& options);

  // Decides a request at `now_ms` (0 <= now_ms < year 2262) for the key whose state is *state;
  // an allowed request updates *state, a refused one leaves it as it was. Times may go backwards
  // (another thread's clock reading): a request is never allowed earlier than the state permits.
  LimitDecision decide(LimiterState* state, int64_t now_ms) const;
  // Counts a request that was allowed at `now_ms` (a recorded admission being replayed), even
  // if `state` would refuse it now: admissions replayed in another order than they were decided
  // leave a state at least as strict as the original, never looser.
  void record(LimiterState* state, int64_t now_ms) const;
  // True when `state` decides every request from now_ms on exactly like a key never seen (0):
  // such states can be dropped.
  bool idle(LimiterState state, int64_t now_ms) const { return now_ms >= idle_from_ms(state); }
  // The first time at which `state` is idle.
  int64_t idle_from_ms(LimiterState state) const;

  Kind kind() const { return kind_; }
  // GCRA kinds: nanoseconds between sustained admissions, and how far ahead of now the
  // theoretical arrival time may run (the burst).
  int64_t interval_ns() const { return interval_ns_; }
  int64_t tolerance_ns() const { return tolerance_ns_; }

 private:
  Limiter(Kind kind, uint32_t limit, int64_t period_ms, int64_t interval_ns, int64_t tolerance_ns)
      : kind_(kind),
        limit_(limit),
        period_ms_(period_ms),
        interval_ns_(interval_ns),
        tolerance_ns_(tolerance_ns) {}
  LimitDecision decide_gcra(LimiterState* state, int64_t now_ms) const;
  LimitDecision decide_fixed(LimiterState* state, int64_t now_ms) const;

  Kind kind_;
  uint32_t limit_;
  int64_t period_ms_;
  int64_t interval_ns_;
  int64_t tolerance_ns_;
};

}  // namespace cairn::flow
