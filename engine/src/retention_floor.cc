// RetentionFloor (see retention_floor.h).
#include "retention_floor.h"

#include <algorithm>
#include <iterator>

#include "cairn/log/types.h"

namespace cairn::detail {

namespace {
// Longer windows are as good as forever; the bound keeps the time arithmetic far from overflow.
constexpr int64_t kWindowMaxMs = int64_t{1000} * 366 * 24 * 3600 * 1000;
// End times (from records, or a saved snapshot) are clamped to this side of the epoch for the same
// reason.
constexpr int64_t kTimeMaxMs = int64_t{1} << 60;
}  // namespace

RetentionFloor::RetentionFloor(std::chrono::milliseconds window)
    : window_ms_(std::clamp<int64_t>(window.count(), 0, kWindowMaxMs)),
      width_ms_(std::max<int64_t>(1, window_ms_ / kBucketsPerWindow)) {}

void RetentionFloor::add(int64_t ended_ms, uint64_t created_lsn) {
  if (window_ms_ == 0) return;
  ended_ms = std::clamp<int64_t>(ended_ms, -kTimeMaxMs, kTimeMaxMs);
  // Floor division, so that times before the epoch (a test's clock) land in the right bucket.
  const int64_t start = ended_ms - (((ended_ms % width_ms_) + width_ms_) % width_ms_);
  auto [it, fresh] = buckets_.try_emplace(start, created_lsn);
  if (!fresh) it->second = std::min(it->second, created_lsn);
  while (buckets_.size() > kBucketsMax) {
    const auto oldest = buckets_.begin();
    const auto next = std::next(oldest);
    next->second = std::min(next->second, oldest->second);
    buckets_.erase(oldest);
  }
}

std::vector<std::pair<int64_t, uint64_t>> RetentionFloor::saved() const {
  std::vector<std::pair<int64_t, uint64_t>> out;
  out.reserve(buckets_.size());
  for (const auto& [start, lsn] : buckets_) out.emplace_back(start + width_ms_ - 1, lsn);
  return out;
}

uint64_t RetentionFloor::floor(int64_t now_ms) {
  now_ms = std::clamp<int64_t>(now_ms, -kTimeMaxMs, kTimeMaxMs);
  // A bucket holds runs that ended up to start + width - 1: it goes once even that end is older
  // than the window.
  while (!buckets_.empty() && buckets_.begin()->first + width_ms_ - 1 + window_ms_ < now_ms) {
    buckets_.erase(buckets_.begin());
  }
  uint64_t lowest = log::kNoLsn;
  for (const auto& [start, lsn] : buckets_) lowest = std::min(lowest, lsn);
  return lowest;
}

}  // namespace cairn::detail
