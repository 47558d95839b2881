// LatencyHistogram: nanosecond latencies in log-spaced buckets (128 per power of two above 256 ns,
// so any percentile is within 0.8% of the true value), fixed size, no allocation when recording.
// One writer records; merge() combines per-thread histograms once they are done.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace cairn::bench {

class LatencyHistogram {
 public:
  void record(int64_t latency_ns) {
    const uint64_t v = latency_ns > 0 ? static_cast<uint64_t>(latency_ns) : 0;
    ++counts_[bucket_of(v)];
    ++count_;
    sum_ns_ += v;
    max_ns_ = std::max(max_ns_, v);
  }

  void merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ns_ += other.sum_ns_;
    max_ns_ = std::max(max_ns_, other.max_ns_);
  }

  uint64_t count() const { return count_; }
  uint64_t max_ns() const { return max_ns_; }
  double mean_ns() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_ns_) / count_; }

  // The smallest recorded value v such that a fraction `q` (0..1) of the values are <= v, as the
  // middle of its bucket. 0 when nothing was recorded.
  double quantile_ns(double q) const {
    if (count_ == 0) return 0;
    const auto rank =
        std::max<uint64_t>(1, static_cast<uint64_t>(q * static_cast<double>(count_) + 0.5));
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min<double>(bucket_middle(i), static_cast<double>(max_ns_));
    }
    return static_cast<double>(max_ns_);
  }

 private:
  // Values below 2^kExactBits have a bucket each; above, each power of two [2^e, 2^(e+1)) is split
  // into kSubBuckets equal parts.
  static constexpr int kExactBits = 8;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << (kExactBits - 1);  // 128
  static constexpr int kMaxBits =
      42;  // 2^42 ns = 73 minutes; longer latencies share the last bucket
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

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ns_ = 0;
  uint64_t max_ns_ = 0;
};

}  // namespace cairn::bench
