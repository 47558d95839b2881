// Paging runs newest first without copying the table: RunFilter says which runs a query wants,
// and NewestRuns keeps only the `limit + 1` largest ids among them (a bounded heap), so a page of
// a table of millions costs one pass and O(limit) memory. Projection (unfinished runs) and
// FinishedRuns both fill one; EngineCore merges their pages.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include "cairn/engine.h"

namespace cairn::detail {

// Whether a run matches a RunQuery's filters (and lies below its page cursor).
inline bool matches(const RunQuery& q, RunId id, std::string_view function_id, RunStatus status,
                    TimePoint created_at) {
  if (q.before != 0 && id >= q.before) return false;
  if (!q.function_id.empty() && function_id != q.function_id) return false;
  if (q.status && status != *q.status) return false;
  if (q.created_before != TimePoint{} && created_at >= q.created_before) return false;
  return created_at >= q.created_after;
}

template <typename T>
class NewestRuns {
 public:
  explicit NewestRuns(size_t keep) : keep_(keep) {}
  void offer(RunId id, T item) {
    if (keep_ == 0) return;
    if (heap_.size() == keep_) {
      if (id <= heap_.front().first) return;
      std::pop_heap(heap_.begin(), heap_.end(), greater);
      heap_.pop_back();
    }
    heap_.emplace_back(id, std::move(item));
    std::push_heap(heap_.begin(), heap_.end(), greater);
  }
  // Newest (largest id) first.
  std::vector<std::pair<RunId, T>> take() {
    std::sort(heap_.begin(), heap_.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    return std::move(heap_);
  }

 private:
  static bool greater(const std::pair<RunId, T>& a, const std::pair<RunId, T>& b) {
    return a.first > b.first;  // a min-heap on the id: the front is the one to drop first
  }
  size_t keep_;
  std::vector<std::pair<RunId, T>> heap_;
};

}  // namespace cairn::detail
