// KeyedLimiter: keys are limited independently, idle states are swept, the key limit refuses
// rather than grows, states survive a snapshot round trip, and the memory per key is measured.
#include <gtest/gtest.h>

#include <malloc.h>

#include <cstdio>
#include <map>
#include <string>

#include "flow/keyed_limiter.h"

namespace cairn::flow {
namespace {

Limiter one_per_second() {
  Result<Limiter> l = Limiter::throttle({.limit = 1, .period_ms = 1000, .burst = 1});
  EXPECT_TRUE(l.ok());
  return *l;
}

TEST(KeyedLimiter, LimitsEachKeyOnItsOwn) {
  KeyedLimiter k(one_per_second());
  for (int i = 0; i < 100; ++i) {
    Result<LimitDecision> d = k.decide("customer-" + std::to_string(i), 5000);
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(d->allowed);
  }
  Result<LimitDecision> again = k.decide("customer-7", 5000);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->allowed);
  EXPECT_EQ(again->retry_at_ms, 6000);
  EXPECT_EQ(k.size(), 100u);
}

TEST(KeyedLimiter, SweepDropsOnlyIdleStates) {
  KeyedLimiter k(one_per_second());
  ASSERT_TRUE(k.decide("a", 1000).ok());
  ASSERT_TRUE(k.decide("b", 1500).ok());
  EXPECT_EQ(k.sweep(1999), 0u);
  EXPECT_EQ(k.sweep(2000), 1u);  // a's interval is over
  EXPECT_EQ(k.size(), 1u);
  // b still limits: its state was kept.
  Result<LimitDecision> b = k.decide("b", 2000);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->allowed);
}

TEST(KeyedLimiter, AFullTableRefusesNewKeysUntilStatesTurnIdle) {
  KeyedLimiter k(one_per_second(), {.keys_max = 3});
  for (const char* key : {"a", "b", "c"}) ASSERT_TRUE(k.decide(key, 1000).ok());
  Result<LimitDecision> d = k.decide("d", 1500);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kLimitExceeded);
  EXPECT_NE(d.status().message().find("keys_max (3) reached"), std::string::npos);
  EXPECT_TRUE(k.decide("a", 1600).ok());  // known keys are still decided
  // Once a, b, c are idle the full table sweeps itself and takes d.
  Result<LimitDecision> later = k.decide("d", 2000);
  ASSERT_TRUE(later.ok()) << later.status().to_string();
  EXPECT_TRUE(later->allowed);
  EXPECT_EQ(k.size(), 1u);
}

TEST(KeyedLimiter, StatesSurviveASnapshotRoundTrip) {
  Result<Limiter> l = Limiter::rate_limit({.limit = 3, .period_ms = 10'000, .burst = 3});
  ASSERT_TRUE(l.ok());
  KeyedLimiter live(*l);
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(live.decide(std::string("k").append(std::to_string(i % 7)), 100 + i).ok());
  std::map<uint64_t, LimiterState> snapshot;
  live.for_each([&](uint64_t h, LimiterState s) { snapshot[h] = s; });
  EXPECT_EQ(snapshot.size(), 7u);
  KeyedLimiter restored(*l);
  for (const auto& [h, s] : snapshot) restored.restore(h, s);
  for (int i = 0; i < 7; ++i) {
    const std::string key = "k" + std::to_string(i);
    Result<LimitDecision> a = live.decide(key, 5000);
    Result<LimitDecision> b = restored.decide(key, 5000);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->allowed, b->allowed) << key;
    EXPECT_EQ(a->retry_at_ms, b->retry_at_ms) << key;
  }
}

TEST(KeyedLimiter, HashIsNeverZeroAndDiffersForDifferentKeys) {
  EXPECT_NE(KeyedLimiter::hash_key(""), 0u);
  EXPECT_NE(KeyedLimiter::hash_key("a"), KeyedLimiter::hash_key("b"));
  EXPECT_EQ(KeyedLimiter::hash_key("customer-1"), KeyedLimiter::hash_key("customer-1"));
}

// state_bytes_per_key: the heap the table takes for 10,000 keys (the flow benchmark's count),
// measured with glibc's allocator statistics. 16-byte slots at a load of 1/4 to 1/2.
// Heap in use: small blocks plus the large ones glibc maps on their own.
size_t limiter_heap_bytes_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

TEST(KeyedLimiter, StateBytesPerKeyAreAtMost64) {
  const size_t before = limiter_heap_bytes_in_use();
  size_t per_key = 0;
  {
    KeyedLimiter k(one_per_second());
    constexpr size_t kKeys = 10'000;
    for (size_t i = 0; i < kKeys; ++i) {
      ASSERT_TRUE(k.decide_hashed(KeyedLimiter::hash_key(std::to_string(i)), 1000).ok());
    }
    const size_t after = limiter_heap_bytes_in_use();
    if (after <= before) GTEST_SKIP() << "the allocator keeps no statistics (a sanitizer build)";
    per_key = (after - before + kKeys - 1) / kKeys;
  }
  std::printf("state_bytes_per_key (10,000 keys): %zu\n", per_key);
  EXPECT_LE(per_key, 64u);
  EXPECT_GE(per_key, 16u);  // the measurement measured something
}

}  // namespace
}  // namespace cairn::flow
