// AdmissionTable: the throttle and rate-limit state of every function (one KeyedLimiter each),
// owned by a projection. Live apply decides a new run against it; every projection (recovery's,
// the snapshotter's) rebuilds it from the RunAdmitted records at their recorded times, so the
// state after a restart is the state the log implies — never looser than the one that decided.
// Apply thread only.
#pragma once

#include <cstdint>
#include <deque>
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
  // `keys_max` bounds each limiter's keys, `idempotency_keys_max` each function's idempotency
  // keys held within their window (EngineOptions::flow_keys_max, idempotency_keys_max).
  explicit AdmissionTable(size_t keys_max, size_t idempotency_keys_max = SIZE_MAX)
      : keys_max_(keys_max), idempotency_keys_max_(idempotency_keys_max) {}

  // A singleton (kCancelRunning) run the caller must cancel, and the run that replaced it. The
  // newer run of a key always wins: normally the one admitted now replaces the holder, but after
  // a restart an older run can be decided (or its RunAdmitted replayed) after a newer one took
  // the key, and then it is the older one that is replaced.
  struct Replaced {
    RunRecord* run = nullptr;
    RunId by = 0;
  };
  struct Verdict {
    RunFlow::Admission admission = RunFlow::Admission::kToRecord;  // kToRecord, kDelayed, kToSkip
    int64_t retry_at_ms = 0;                                       // kDelayed
    Replaced replaced;
  };
  // Decides a run of `fn` (which limits admission) at now_ms; sets flow.skip_reason for a skip.
  // A run its throttle delays waits in line behind the runs of its key delayed before it:
  // `first_in_line` says it is the first (only then does the throttle decide it), and a delayed
  // run behind others gets retry_at_ms 0 (no timer: it is decided when it is first).
  // Idempotency, singleton and rate limit are decided first (a duplicate or a skipped run uses
  // no budget), once per run. A run with a new idempotency key while its function holds
  // idempotency_keys_max keys is delayed (decided again at the next sweep, and let in once the
  // sweep drops keys past their window): neither skipped, which would lose it, nor let in
  // without its key, which could run a key twice.
  Verdict decide(const FunctionEntry& fn, RunRecord& run, int64_t now_ms, bool first_in_line);

  // The line of delayed runs of one function and throttle key, in arrival order (live only: the
  // snapshotter's projection never delays). Only the first has a timer, so runs of a key start
  // in the order they came and a key costs one timer however many runs wait.
  // Queues `run`; true when it is first in line.
  bool wait_in_line(const FunctionEntry& fn, RunRecord& run);
  RunRecord* first_in_line(const FunctionEntry& fn, const RunFlow& flow) const;
  // Takes `run` out of its line (it starts, or ends otherwise); true when it was first.
  bool leave_line(const FunctionEntry& fn, RunRecord& run);
  // Replays a recorded admission of `run` (of a function not registered: nothing to count).
  // Returns the singleton run this admission replaced, if any (the caller cancels it in
  // kCancelRunning mode).
  Replaced record(RunRecord& run, bool throttle, std::string_view throttle_key, bool rate_limit,
                  std::string_view rate_limit_key, int64_t at_ms);
  // A run of a singleton function that is admitted and unfinished (a loaded snapshot's), and a
  // run that finished (it no longer holds its singleton key).
  void restore_active(RunRecord& run);
  void run_finished(RunRecord& run);
  // Idempotency keys seen within their window, for snapshots: (function, key hash, run, at_ms).
  template <typename F>
  void for_each_idempotency(F&& f) const {
    for (const auto& [fn, limits] : by_fn_) {
      for (const auto& [hash, seen] : limits.seen) f(*fn, hash, seen.run, seen.at_ms);
    }
  }
  void restore_idempotency(const FunctionEntry& fn, uint64_t key_hash, RunId run, int64_t at_ms);

  // Snapshots: every (function, kind, key hash, state), and putting one back (dropped when the
  // function no longer has that limit).
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& entry : by_fn_) {
      // Named, not a structured binding: Clang 14 does not let a lambda capture one (C++20 does).
      const auto& fn = entry.first;
      const auto& limits = entry.second;
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
  struct Seen {
    RunId run = 0;
    int64_t at_ms = 0;
  };
  struct Limits {
    std::optional<flow::KeyedLimiter> throttle;
    std::optional<flow::KeyedLimiter> rate_limit;
    int64_t swept_ms = 0;
    std::unordered_map<uint64_t, RunRecord*> active;  // singleton: key hash -> its run
    std::unordered_map<uint64_t, Seen> seen;          // idempotency: key hash -> first run
  };
  // Counts an admission into the singleton and idempotency state. An idempotency key takes the
  // run if it has none within its window (an expired entry the sweep has not dropped yet is
  // replaced: it must not let every later run through until the sweep).
  static Replaced hold_keys(const FunctionFlow& f, Limits& l, RunRecord& run, int64_t at_ms);
  Limits& limits_of(const FunctionEntry& fn);
  // Idle states are dropped at most once a minute per function: O(keys) then, O(1) otherwise.
  static void sweep_now_and_then(const FunctionFlow& f, Limits& l, int64_t now_ms);

  struct LineKey {
    const FunctionEntry* fn;
    uint64_t key_hash;
    bool operator==(const LineKey&) const = default;
  };
  struct LineKeyHash {
    size_t operator()(const LineKey& k) const {
      return std::hash<const void*>{}(k.fn) ^ (k.key_hash * 0x9E3779B97F4A7C15ull);
    }
  };
  static LineKey line_of(const FunctionEntry& fn, const RunFlow& flow);

  size_t keys_max_;
  size_t idempotency_keys_max_;
  std::unordered_map<const FunctionEntry*, Limits> by_fn_;
  std::unordered_map<LineKey, std::deque<RunRecord*>, LineKeyHash> lines_;
};

}  // namespace cairn::detail
