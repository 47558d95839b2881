// DedupWindow (see dedup_window.h).
#include "dedup_window.h"

#include <algorithm>
#include <utility>

namespace cairn::detail {

bool DedupWindow::try_insert(const std::string& id, int64_t ts_ms, int64_t now_ms) {
  std::lock_guard lock(mu_);
  expire(now_ms);
  if (ts_ms < now_ms - window_ms_) return true;  // too old to remember; accept
  auto [it, inserted] = seen_.try_emplace(id, ts_ms);
  if (!inserted) return false;
  order_.emplace_back(ts_ms, id);
  return true;
}

void DedupWindow::restore(std::vector<std::pair<int64_t, std::string>> ids, int64_t now_ms) {
  std::lock_guard lock(mu_);
  for (auto& [ts, id] : ids) {
    if (ts < now_ms - window_ms_) continue;  // too old to remember
    if (seen_.try_emplace(id, ts).second) order_.emplace_back(ts, std::move(id));
  }
  // Stable: ids of the same time stay in the order given (a snapshot's is by id).
  std::stable_sort(order_.begin(), order_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  expire(now_ms);
}

void DedupWindow::erase(const std::string& id) {
  std::lock_guard lock(mu_);
  seen_.erase(id);
}

size_t DedupWindow::size() const {
  std::lock_guard lock(mu_);
  return seen_.size();
}

void DedupWindow::expire(int64_t now_ms) {
  // Ids are mostly inserted in time order; one that is out of order stays a little longer.
  while (!order_.empty() && order_.front().first < now_ms - window_ms_) {
    auto it = seen_.find(order_.front().second);
    if (it != seen_.end() && it->second == order_.front().first) seen_.erase(it);
    order_.pop_front();
  }
}

}  // namespace cairn::detail
