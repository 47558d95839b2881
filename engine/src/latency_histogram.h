// LatencyHistogram: lock-free, log-bucketed (about 3% wide buckets) latencies in nanoseconds,
// recorded from any thread without allocation; percentiles are read approximately.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>

namespace cairn::detail {

class LatencyHistogram {
 public:
  void record(int64_t ns) {
    if (ns < 0) ns = 0;
    buckets_[bucket_of(static_cast<uint64_t>(ns))].fetch_add(1, std::memory_order_relaxed);
  }
  void reset() {
    for (auto& b : buckets_) b.store(0, std::memory_order_relaxed);
  }
  uint64_t count() const {
    uint64_t n = 0;
    for (auto& b : buckets_) n += b.load(std::memory_order_relaxed);
    return n;
  }
  // The latency below which a fraction q of the samples fall (upper edge of its bucket), in ns.
  uint64_t percentile(double q) const {
    const uint64_t n = count();
    if (n == 0) return 0;
    const uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(n - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += buckets_[i].load(std::memory_order_relaxed);
      if (seen >= rank) return upper_edge(i);
    }
    return upper_edge(kBuckets - 1);
  }

 private:
  static constexpr int kSubBits = 5;  // 32 buckets per power of two
  static constexpr size_t kBuckets = 64 << kSubBits;
  static size_t bucket_of(uint64_t v) {
    if (v < (1u << kSubBits)) return static_cast<size_t>(v);
    const int exp = 63 - std::countl_zero(v);
    const uint64_t sub = (v >> (exp - kSubBits)) & ((1u << kSubBits) - 1);
    return static_cast<size_t>((exp - kSubBits + 1) << kSubBits) + sub;
  }
  static uint64_t upper_edge(size_t b) {
    if (b < (1u << kSubBits)) return b;
    const int exp = static_cast<int>(b >> kSubBits) + kSubBits - 1;
    const uint64_t sub = b & ((1u << kSubBits) - 1);
    return ((uint64_t{1} << kSubBits) + sub + 1) << (exp - kSubBits);
  }
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
};

}  // namespace cairn::detail
