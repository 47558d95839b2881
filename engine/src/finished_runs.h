// FinishedRuns: what the engine keeps about finished runs for queries and run handles, bounded
// by EngineOptions::runs_finished_kept (oldest dropped first; the log keeps everything), and the
// waiting of wait_run().
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "cairn/engine.h"

namespace cairn::detail {

class FinishedRuns {
 public:
  explicit FinishedRuns(uint64_t kept_max) : kept_max_(kept_max) {}
  void add(RunInfo info);
  std::optional<RunInfo> find(RunId id) const;
  void list(const RunQuery& q, std::vector<RunInfo>* out) const;
  // Waits until `id` is added, the deadline passes, or fail() is called.
  Result<RunInfo> wait(RunId id, std::chrono::steady_clock::time_point deadline);
  void fail(const Status& status);
  uint64_t added() const;

 private:
  const uint64_t kept_max_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<RunId, RunInfo> runs_;
  std::deque<RunId> order_;
  Status failure_;
  uint64_t added_ = 0;
};

}  // namespace cairn::detail
