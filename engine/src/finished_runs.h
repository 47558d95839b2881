// FinishedRuns: what the engine keeps about finished runs for queries and run handles, bounded
// by EngineOptions::runs_finished_kept and runs_finished_bytes_max (oldest dropped first; the log
// keeps everything), and the waiting of wait_run().
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "cairn/engine.h"

namespace cairn::detail {

class FinishedRuns {
 public:
  FinishedRuns(uint64_t kept_max, uint64_t bytes_max)
      : kept_max_(kept_max), bytes_max_(bytes_max) {}
  // `created_lsn`: where the run's records begin in the log (for run_history).
  void add(RunInfo info, uint64_t created_lsn);
  std::optional<RunInfo> find(RunId id) const;
  std::optional<uint64_t> created_lsn(RunId id) const;
  // The newest finished runs kept that match `q`, at most q.limit + 1 (newest first).
  std::vector<RunInfo> page(const RunQuery& q) const;
  // Waits until `id` is added (its info, even when it was dropped at once: runs_finished_kept 0,
  // or larger than runs_finished_bytes_max), the deadline passes (kTimeout), or fail() is called.
  // `unfinished` (called without this class's lock, at least every kRecheck) says whether the
  // run is still unfinished: a run that finished and was dropped before this wait began is
  // kNotFound, saying so, instead of a wait until the deadline.
  Result<RunInfo> wait(RunId id, std::chrono::steady_clock::time_point deadline,
                       const std::function<bool()>& unfinished);
  static constexpr std::chrono::milliseconds kRecheck{100};
  void fail(const Status& status);
  uint64_t added() const;
  // Every kept run, oldest first (what a snapshot keeps; add() in this order rebuilds it).
  template <typename F>
  void for_each_oldest_first(F&& f) const {
    std::lock_guard lock(mu_);
    for (RunId id : order_) {
      const Kept& k = runs_.at(id);
      f(k.info, k.created_lsn);
    }
  }

 private:
  struct Kept {
    RunInfo info;
    uint64_t created_lsn = 0;
    uint64_t bytes = 0;
  };
  void drop_oldest();

  const uint64_t kept_max_;
  const uint64_t bytes_max_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<RunId, Kept> runs_;
  std::deque<RunId> order_;
  uint64_t bytes_ = 0;
  // Runs someone waits for (how many waiters), and the info of those that were added meanwhile,
  // kept until their last waiter has it: at most one entry per waiting caller.
  std::unordered_map<RunId, uint32_t> waiting_;
  std::unordered_map<RunId, RunInfo> handed_;
  Status failure_;
  uint64_t added_ = 0;
};

}  // namespace cairn::detail
