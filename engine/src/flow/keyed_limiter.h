// KeyedLimiter: one Limiter (gcra.h) and the state of every key it has seen, each state one
// 16-byte slot (the key's 64-bit hash, the 64-bit state) of an open-addressing table. Idle states
// (those that decide like a new key) are dropped by sweep(), so the table holds only keys that are
// being limited right now. Used by the AdmissionTable.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "cairn/log/status.h"
#include "flow/gcra.h"
#include "run_table.h"

namespace cairn::flow {

struct KeyedLimiterOptions {
  // Most keys with a state at once. At the limit, idle states are swept first; if the table is
  // still full, decide() for a new key returns kLimitExceeded (the caller delays or refuses the
  // request; it is not admitted). Default: 1,000,000 (16-64 MiB).
  size_t keys_max = 1'000'000;
};

class KeyedLimiter {
 public:
  KeyedLimiter(Limiter limiter, KeyedLimiterOptions options = {})
      : limiter_(limiter), options_(options) {}

  // The key's 64-bit identity (XXH3 of its text; never 0). Two keys with the same hash share one
  // state, so a collision can only make a limit stricter, never looser; for 10^6 live keys its
  // chance is about 3 in 10^8.
  static uint64_t hash_key(std::string_view key);

  Result<LimitDecision> decide(std::string_view key, int64_t now_ms) {
    return decide_hashed(hash_key(key), now_ms);
  }
  Result<LimitDecision> decide_hashed(uint64_t key_hash, int64_t now_ms);

  // Counts a recorded admission (Limiter::record) for the key; a new key takes a slot even at
  // keys_max (the admission happened: forgetting it could admit more than the limit).
  void record_hashed(uint64_t key_hash, int64_t now_ms);
  // Drops every state idle at now_ms; returns how many. O(keys).
  size_t sweep(int64_t now_ms);

  size_t size() const { return states_.size(); }
  const Limiter& limiter() const { return limiter_; }

  // For snapshots: every state (key hash, state), and putting one back.
  template <typename F>
  void for_each(F&& f) const {
    states_.for_each(f);
  }
  void restore(uint64_t key_hash, LimiterState state);

  // Bytes of table per key: 16 per slot over a load of 1/4 to 1/2 while keys are added (32-64),
  // up to 1/8 after a sweep dropped most keys (128 until the table shrinks).
  static constexpr size_t kSlotBytes = 16;

 private:
  Limiter limiter_;
  KeyedLimiterOptions options_;
  detail::U64Map<LimiterState> states_;
  // No state can turn idle before this time (the smallest state the last full sweep kept), so
  // a full table does not sweep again before it: a full table costs O(1) per refusal.
  int64_t sweep_useless_until_ms_ = 0;
};

}  // namespace cairn::flow
