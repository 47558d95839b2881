// KeyedLimiter (see keyed_limiter.h): the per-key table, its sweep, and the full-table rule.
#include "flow/keyed_limiter.h"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include <xxhash.h>

#include "cairn/log/check.h"

namespace cairn::flow {

uint64_t KeyedLimiter::hash_key(std::string_view key) {
  const uint64_t h = XXH3_64bits(key.data(), key.size());
  return h == 0 ? 1 : h;  // 0 marks an empty slot in the table
}

Result<LimitDecision> KeyedLimiter::decide_hashed(uint64_t key_hash, int64_t now_ms) {
  CAIRN_CHECK(key_hash != 0);
  LimiterState* state = states_.find(key_hash);
  if (state == nullptr) {
    if (states_.size() >= options_.keys_max && now_ms >= sweep_useless_until_ms_) {
      sweep(now_ms);
    }
    if (states_.size() >= options_.keys_max) {
      return Status(StatusCode::kLimitExceeded, "keyed limiter: " + std::to_string(states_.size()) +
                                                    " keys are being limited, keys_max (" +
                                                    std::to_string(options_.keys_max) +
                                                    ") reached");
    }
    LimiterState fresh = 0;
    const LimitDecision d = limiter_.decide(&fresh, now_ms);
    CAIRN_CHECK(d.allowed);  // a key never seen is always allowed
    states_.insert(key_hash, fresh);
    sweep_useless_until_ms_ = 0;  // the new state may turn idle before the bound the sweep set
    return d;
  }
  const LimitDecision d = limiter_.decide(state, now_ms);
  CAIRN_DCHECK(d.allowed || d.retry_at_ms > now_ms);
  return d;
}

size_t KeyedLimiter::sweep(int64_t now_ms) {
  std::vector<uint64_t> idle;
  int64_t earliest_kept = std::numeric_limits<int64_t>::max();
  states_.for_each([&](uint64_t key_hash, LimiterState state) {
    const int64_t from = limiter_.idle_from_ms(state);
    if (now_ms >= from) {
      idle.push_back(key_hash);
    } else {
      earliest_kept = std::min(earliest_kept, from);
    }
  });
  for (uint64_t key_hash : idle) {
    const bool erased = states_.erase(key_hash);
    CAIRN_CHECK(erased);
  }
  sweep_useless_until_ms_ = earliest_kept;
  return idle.size();
}

void KeyedLimiter::record_hashed(uint64_t key_hash, int64_t now_ms) {
  CAIRN_CHECK(key_hash != 0);
  LimiterState* state = states_.find(key_hash);
  LimiterState fresh = 0;
  limiter_.record(state != nullptr ? state : &fresh, now_ms);
  if (state == nullptr) states_.set(key_hash, fresh);
}

void KeyedLimiter::restore(uint64_t key_hash, LimiterState state) {
  CAIRN_CHECK(key_hash != 0);
  if (state == 0) {
    (void)states_.erase(key_hash);  // a key never seen needs no slot
    return;
  }
  states_.set(key_hash, state);
}

}  // namespace cairn::flow
