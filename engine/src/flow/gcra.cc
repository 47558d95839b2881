// Limiter (see gcra.h): the GCRA arithmetic in integer nanoseconds, rounded so that a limit is
// never exceeded (the interval rounds up, a retry time rounds up to the next millisecond), and
// the fixed window's packed counter.
#include "flow/gcra.h"

#include <algorithm>
#include <string>

#include "cairn/log/check.h"

namespace cairn::flow {
namespace gcra_detail {

constexpr int64_t kNsPerMs = 1'000'000;
// now_ms beyond this (year 2255) would overflow the nanosecond arithmetic.
constexpr int64_t kNowMsMax = 9'000'000'000'000;
// A fixed window's state: (window number + 1) << kCountBits | count.
constexpr unsigned kCountBits = 20;
constexpr uint64_t kCountMask = (uint64_t{1} << kCountBits) - 1;
static_assert(kLimiterLimitMax <= kCountMask);

Status check_common(const char* what, uint32_t limit, int64_t period_ms, uint32_t burst) {
  auto bad = [&](const std::string& reason) {
    return Status(StatusCode::kInvalidArgument, std::string(what) + ": " + reason);
  };
  if (limit == 0 || limit > kLimiterLimitMax) {
    return bad("limit " + std::to_string(limit) + " is out of range 1-" +
               std::to_string(kLimiterLimitMax));
  }
  if (period_ms <= 0 || period_ms > kLimiterPeriodMsMax) {
    return bad("period_ms " + std::to_string(period_ms) + " is out of range 1-" +
               std::to_string(kLimiterPeriodMsMax) + " (366 days)");
  }
  if (burst == 0 || burst > limit) {
    return bad("burst " + std::to_string(burst) + " is out of range 1-" + std::to_string(limit) +
               " (the limit)");
  }
  return Status::Ok();
}

// ceil(a / b) for a >= 0, b > 0.
int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

}  // namespace gcra_detail

Result<Limiter> Limiter::throttle(const ThrottleOptions& o) {
  using namespace gcra_detail;
  CAIRN_RETURN_IF_ERROR(check_common("throttle", o.limit, o.period_ms, o.burst));
  // Rounded up: the sustained rate is at most limit per period, never above it.
  const int64_t interval = ceil_div(o.period_ms * kNsPerMs, o.limit);
  return Limiter(Kind::kThrottle, o.limit, o.period_ms, interval, interval * (o.burst - 1));
}

Result<Limiter> Limiter::rate_limit(const RateLimitOptions& o) {
  using namespace gcra_detail;
  const uint32_t burst = o.window == RateLimitOptions::Window::kFixed ? 1 : o.burst;
  CAIRN_RETURN_IF_ERROR(check_common("rate limit", o.limit, o.period_ms, burst));
  if (o.window == RateLimitOptions::Window::kFixed) {
    return Limiter(Kind::kFixedRateLimit, o.limit, o.period_ms, 0, 0);
  }
  // Any half-open window of period P holds at most ceil((P + tolerance) / interval) admissions;
  // with interval >= P / (limit - burst + 1) and tolerance = (burst - 1) * interval that is
  // at most limit.
  const int64_t interval = ceil_div(o.period_ms * kNsPerMs, o.limit - o.burst + 1);
  return Limiter(Kind::kSlidingRateLimit, o.limit, o.period_ms, interval, interval * (o.burst - 1));
}

LimitDecision Limiter::decide(LimiterState* state, int64_t now_ms) const {
  CAIRN_CHECK(state != nullptr);
  CAIRN_CHECK(now_ms >= 0 && now_ms <= gcra_detail::kNowMsMax);
  return kind_ == Kind::kFixedRateLimit ? decide_fixed(state, now_ms) : decide_gcra(state, now_ms);
}

LimitDecision Limiter::decide_gcra(LimiterState* state, int64_t now_ms) const {
  using namespace gcra_detail;
  const int64_t now_ns = now_ms * kNsPerMs;
  const int64_t tat = std::max(static_cast<int64_t>(*state), now_ns);
  if (tat - now_ns > tolerance_ns_) {
    // Allowed once now_ns >= tat - tolerance: the first whole millisecond at or after that.
    const int64_t retry_ms = ceil_div(tat - tolerance_ns_, kNsPerMs);
    CAIRN_DCHECK(retry_ms > now_ms);
    return {false, retry_ms};
  }
  *state = static_cast<LimiterState>(tat + interval_ns_);
  return {true, now_ms};
}

LimitDecision Limiter::decide_fixed(LimiterState* state, int64_t now_ms) const {
  using namespace gcra_detail;
  const uint64_t stored_window = *state >> kCountBits;  // window number + 1; 0 = never seen
  const uint64_t now_window = static_cast<uint64_t>(now_ms / period_ms_) + 1;
  // A time behind the stored window (a clock read late) counts in the stored window.
  const uint64_t window = std::max(stored_window, now_window);
  const uint64_t count = window == stored_window ? (*state & kCountMask) : 0;
  if (count >= limit_) {
    return {false, static_cast<int64_t>(window) * period_ms_};  // the next window's start
  }
  *state = window << kCountBits | (count + 1);
  return {true, now_ms};
}

void Limiter::record(LimiterState* state, int64_t now_ms) const {
  using namespace gcra_detail;
  if (kind_ != Kind::kFixedRateLimit) {
    const int64_t tat = std::max(static_cast<int64_t>(*state), now_ms * kNsPerMs);
    *state = static_cast<LimiterState>(tat + interval_ns_);
    return;
  }
  const uint64_t stored_window = *state >> kCountBits;
  const uint64_t now_window = static_cast<uint64_t>(now_ms / period_ms_) + 1;
  if (now_window < stored_window) return;  // it counted in a window that is over
  const uint64_t count = now_window == stored_window ? (*state & kCountMask) : 0;
  *state = now_window << kCountBits | std::min<uint64_t>(count + 1, kCountMask);
}

int64_t Limiter::idle_from_ms(LimiterState state) const {
  using namespace gcra_detail;
  if (state == 0) return 0;
  if (kind_ == Kind::kFixedRateLimit) {
    // Idle once the window after the stored one has begun.
    return static_cast<int64_t>(state >> kCountBits) * period_ms_;
  }
  return ceil_div(static_cast<int64_t>(state), kNsPerMs);
}

}  // namespace cairn::flow
