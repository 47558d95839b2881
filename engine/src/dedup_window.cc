// DedupWindow (see dedup_window.h).
#include "dedup_window.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace cairn::detail {

DedupWindow::Reserve DedupWindow::reserve(const std::string& id, int64_t now_ms, uint64_t owner,
                                          const std::function<bool()>& give_up) {
  std::unique_lock lock(mu_);
  expire(now_ms);
  for (;;) {
    auto [it, inserted] = seen_.try_emplace(id, Entry{now_ms, true, owner});
    if (inserted) {
      // Checked again after every wait: a released reservation may have made room. One lookup
      // on the usual path; only a refusal at the limit costs the erase.
      if (seen_.size() <= ids_max_) return Reserve::kReserved;
      seen_.erase(it);
      return Reserve::kFull;
    }
    const Entry& e = it->second;
    if (!e.pending || (owner != 0 && e.owner == owner)) return Reserve::kDuplicate;
    // Reserved by a send whose record is not durable yet: it may still fail. Wait for it (the
    // give_up check bounds how long a stopping engine keeps a sender here).
    if (give_up && give_up()) return Reserve::kGaveUp;
    settled_.wait_for(lock, std::chrono::milliseconds(10));
  }
}

bool DedupWindow::insert_confirmed(std::string id, int64_t at_ms, int64_t now_ms) {
  at_ms = std::min(at_ms, now_ms);
  if (at_ms < now_ms - window_ms_) return true;  // too old to remember; accept
  if (!seen_.try_emplace(id, Entry{at_ms, false, 0}).second) return false;
  order_.emplace_back(at_ms, std::move(id));
  return true;
}

void DedupWindow::confirm(const std::string& id, int64_t accepted_ms, int64_t now_ms) {
  std::lock_guard lock(mu_);
  expire(now_ms);
  auto it = seen_.find(id);
  if (it == seen_.end()) {
    (void)insert_confirmed(id, accepted_ms, now_ms);  // false: remembered already, nothing to add
    return;
  }
  if (!it->second.pending) return;
  it->second.pending = false;
  it->second.owner = 0;
  order_.emplace_back(it->second.at_ms, id);
  settled_.notify_all();
}

bool DedupWindow::try_insert(const std::string& id, int64_t accepted_ms, int64_t now_ms) {
  std::lock_guard lock(mu_);
  expire(now_ms);
  return insert_confirmed(id, accepted_ms, now_ms);
}

void DedupWindow::restore(std::vector<std::pair<int64_t, std::string>> ids, int64_t now_ms) {
  std::lock_guard lock(mu_);
  for (auto& [ts, id] : ids) (void)insert_confirmed(std::move(id), ts, now_ms);  // false: a repeat
  // Stable: ids of the same time stay in the order given (a snapshot's is by id).
  std::stable_sort(order_.begin(), order_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  expire(now_ms);
}

void DedupWindow::erase(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = seen_.find(id);
  if (it == seen_.end()) return;
  const bool pending = it->second.pending;
  seen_.erase(it);
  if (pending) settled_.notify_all();
  // A confirmed id's entry in order_ is dropped when it expires (the time check below skips it).
}

size_t DedupWindow::size() const {
  std::lock_guard lock(mu_);
  return seen_.size();
}

void DedupWindow::expire(int64_t now_ms) {
  // Ids are mostly confirmed in time order; one that is out of order stays a little longer.
  while (!order_.empty() && order_.front().first < now_ms - window_ms_) {
    auto it = seen_.find(order_.front().second);
    if (it != seen_.end() && !it->second.pending && it->second.at_ms == order_.front().first) {
      seen_.erase(it);
    }
    order_.pop_front();
  }
}

}  // namespace cairn::detail
