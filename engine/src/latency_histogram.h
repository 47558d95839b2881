// LatencyHistogram: nanosecond latencies in log-spaced buckets (128 per power of two above 256 ns,
// so any percentile is within 0.4% of the true value), of a fixed size. Any thread may record at
// any time, without allocation or locks (relaxed atomic counters); a reader sees an approximate
// snapshot while records go on. merge() combines per-thread histograms, reset() starts over.
// Used for the engine's step-dispatch latency and by cairn-bench (through cairn_engine_internal).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace cairn::detail {

class LatencyHistogram {
 public:
  LatencyHistogram() = default;
  // A copy is a snapshot of `other` (for results handed back by value).
  LatencyHistogram(const LatencyHistogram& other) { merge(other); }
  LatencyHistogram& operator=(const LatencyHistogram& other) {
    if (this != &other) {
      reset();
      merge(other);
    }
    return *this;
  }

  void record(int64_t latency_ns) {
    const uint64_t v = latency_ns > 0 ? static_cast<uint64_t>(latency_ns) : 0;
    counts_[bucket_of(v)].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(v, std::memory_order_relaxed);
    raise_max(v);
    // After the bucket: a reader that sees this count sees the bucket's increment too.
    count_.fetch_add(1, std::memory_order_release);
  }

  // Adds what `other` recorded.
  void merge(const LatencyHistogram& other) {
    const uint64_t n = other.count();  // first: its buckets hold at least this many records
    for (size_t i = 0; i < kBuckets; ++i) {
      const uint64_t c = other.counts_[i].load(std::memory_order_relaxed);
      if (c != 0) counts_[i].fetch_add(c, std::memory_order_relaxed);
    }
    sum_ns_.fetch_add(other.sum_ns_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    raise_max(other.max_ns_.load(std::memory_order_relaxed));
    count_.fetch_add(n, std::memory_order_release);
  }

  // Forgets everything recorded (records made meanwhile may be kept in part).
  void reset() {
    count_.store(0, std::memory_order_relaxed);
    for (auto& c : counts_) c.store(0, std::memory_order_relaxed);
    sum_ns_.store(0, std::memory_order_relaxed);
    max_ns_.store(0, std::memory_order_relaxed);
  }

  uint64_t count() const { return count_.load(std::memory_order_acquire); }
  uint64_t max_ns() const { return max_ns_.load(std::memory_order_relaxed); }
  double mean_ns() const {
    const uint64_t n = count();
    return n == 0 ? 0.0
                  : static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) /
                        static_cast<double>(n);
  }

  // The smallest recorded value v such that a fraction `q` (0..1) of the values are <= v, as the
  // middle of its bucket (at most the largest value recorded). 0 when nothing was recorded.
  double percentile(double q) const {
    const uint64_t n = count();
    if (n == 0) return 0;
    const auto rank =
        std::max<uint64_t>(1, static_cast<uint64_t>(q * static_cast<double>(n) + 0.5));
    const auto max = static_cast<double>(max_ns());
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i].load(std::memory_order_relaxed);
      if (seen >= rank) return std::min(bucket_middle(i), max);
    }
    return max;  // a reset() raced with this read
  }

 private:
  // Values below 2^kExactBits have a bucket each; above, each power of two [2^e, 2^(e+1)) is split
  // into kSubBuckets equal parts.
  static constexpr int kExactBits = 8;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << (kExactBits - 1);  // 128
  // 2^42 ns = 73 minutes; longer latencies share the last bucket.
  static constexpr int kMaxBits = 42;
  static constexpr size_t kBuckets = (kMaxBits - kExactBits + 2) * kSubBuckets;

  static size_t bucket_of(uint64_t v) {
    v = std::min<uint64_t>(v, (uint64_t{1} << kMaxBits) - 1);
    const int msb = std::bit_width(v) - 1;
    if (msb < kExactBits) return static_cast<size_t>(v);
    const int shift = msb - (kExactBits - 1);  // top = v >> shift is in [128, 256)
    return static_cast<size_t>(shift) * kSubBuckets + (v >> shift);
  }

  static double bucket_middle(size_t i) {
    if (i < (size_t{1} << kExactBits)) return static_cast<double>(i);
    const uint64_t shift = i / kSubBuckets - 1;
    const uint64_t top = i - shift * kSubBuckets;
    return static_cast<double>(top << shift) + static_cast<double>(uint64_t{1} << shift) / 2;
  }

  void raise_max(uint64_t v) {
    uint64_t cur = max_ns_.load(std::memory_order_relaxed);
    while (v > cur && !max_ns_.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
    }
  }

  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  // Together on a line of their own: every record updates them.
  alignas(64) std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
  std::atomic<uint64_t> max_ns_{0};
};

}  // namespace cairn::detail
