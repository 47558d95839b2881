// AdmissionTable: the throttle and rate-limit state of every function (one KeyedLimiter each),
// owned by a projection. Live apply decides a new run against it; every projection (recovery's,
// the snapshotter's) rebuilds it from the RunAdmitted records at their recorded times, so the
// state after a restart is the state the log implies — never looser than the one that decided.
// Apply thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "flow/keyed_limiter.h"
#include "function_flow.h"
#include "function_registry.h"
#include "run_state.h"

namespace cairn::detail {

enum class LimitKind : uint8_t { kThrottle = 0, kRateLimit = 1 };

class AdmissionTable {
 public:
  explicit AdmissionTable(size_t keys_max) : keys_max_(keys_max) {}

  struct Verdict {
    RunFlow::Admission admission = RunFlow::Admission::kToRecord;  // kToRecord, kDelayed, kToSkip
    int64_t retry_at_ms = 0;                                       // kDelayed
  };
  // Decides a run of `fn` (which limits admission) at now_ms; sets flow.skip_reason for a skip.
  Verdict decide(const FunctionEntry& fn, RunFlow& flow, int64_t now_ms);
  // Replays a recorded admission of a run of `fn` (null: not registered, nothing to count).
  void record(const FunctionEntry* fn, bool throttle, std::string_view throttle_key,
              bool rate_limit, std::string_view rate_limit_key, int64_t at_ms);

  // Snapshots: every (function, kind, key hash, state), and putting one back (dropped when the
  // function no longer has that limit).
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& [fn, limits] : by_fn_) {
      if (limits.throttle) {
        limits.throttle->for_each(
            [&](uint64_t h, uint64_t s) { f(*fn, LimitKind::kThrottle, h, s); });
      }
      if (limits.rate_limit) {
        limits.rate_limit->for_each(
            [&](uint64_t h, uint64_t s) { f(*fn, LimitKind::kRateLimit, h, s); });
      }
    }
  }
  void restore(const FunctionEntry& fn, LimitKind kind, uint64_t key_hash, uint64_t state);
  // Keys with a state, over all functions.
  size_t keys() const;

 private:
  struct Limits {
    std::optional<flow::KeyedLimiter> throttle;
    std::optional<flow::KeyedLimiter> rate_limit;
    int64_t swept_ms = 0;
  };
  Limits& limits_of(const FunctionEntry& fn);
  // Idle states are dropped at most once a minute per function: O(keys) then, O(1) otherwise.
  static void sweep_now_and_then(Limits& l, int64_t now_ms);

  size_t keys_max_;
  std::unordered_map<const FunctionEntry*, Limits> by_fn_;
};

}  // namespace cairn::detail
