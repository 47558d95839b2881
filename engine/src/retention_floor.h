// RetentionFloor: where the log must be kept from so that runs that finished within
// EngineOptions::history_window stay whole for run_history. A run that lived longer than the
// window has its first records in segments sealed long ago; without this floor they would leave
// the log as soon as the run ended. Kept by the snapshotter (its thread alone) and saved in each
// snapshot's header, so a restart keeps the same promise.
//
// Runs are counted by when they ended, in buckets of window / kBucketsPerWindow: a bucket keeps
// the lowest creation LSN of the runs that ended in it, and leaves once its last millisecond is
// older than the window. Memory stays at about kBucketsPerWindow entries whatever the load.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace cairn::detail {

class RetentionFloor {
 public:
  static constexpr int64_t kBucketsPerWindow = 64;
  // More than this many buckets (only when end times jump around, e.g. a clock set back and
  // forth): the two oldest merge into the later one. That keeps history longer, never shorter.
  static constexpr size_t kBucketsMax = 4 * kBucketsPerWindow;

  // A window of 0 keeps nothing for finished runs: floor() is always kNoLsn.
  explicit RetentionFloor(std::chrono::milliseconds window);

  // A run that began at `created_lsn` ended at `ended_ms` (the engine clock's milliseconds).
  void add(int64_t ended_ms, uint64_t created_lsn);
  // Forgets the buckets whose runs all ended more than the window before `now_ms`, and returns
  // the lowest creation LSN of those left (log::kNoLsn when none).
  uint64_t floor(int64_t now_ms);

  // Bucket start (ms) → lowest creation LSN, oldest first.
  const std::map<int64_t, uint64_t>& buckets() const { return buckets_; }
  // What a snapshot saves: for each bucket, oldest first, the latest end time it covers and its
  // lowest creation LSN. add() of each pair restores it under any window, since the bucket that
  // takes a bucket's last millisecond stays at least until that millisecond leaves the window
  // (restored at their start, the buckets of a wider window fell into narrower ones that left
  // up to an old bucket's width early).
  std::vector<std::pair<int64_t, uint64_t>> saved() const;

 private:
  const int64_t window_ms_;
  const int64_t width_ms_;
  std::map<int64_t, uint64_t> buckets_;
};

}  // namespace cairn::detail
