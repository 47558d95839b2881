// DedupWindow (see dedup_window.h).
#include "dedup_window.h"

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
