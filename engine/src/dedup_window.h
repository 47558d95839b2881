// DedupWindow: event ids seen within the window (default 24 h), so an event sent twice starts
// its runs once. A live send reserves its id before appending; replay re-inserts the ids of
// recorded events. Thread-safe (a mutex: sends are not the step path).
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cairn::detail {

class DedupWindow {
 public:
  explicit DedupWindow(int64_t window_ms) : window_ms_(window_ms) {}
  // True when the id is new (and is now reserved); false for a duplicate.
  bool try_insert(const std::string& id, int64_t ts_ms, int64_t now_ms);
  // Forgets a reservation whose append failed.
  void erase(const std::string& id);
  size_t size() const;
  // Every id remembered, with its event time, oldest first (what a snapshot keeps; restore
  // rebuilds it). In time order so that a build that re-inserts them one by one, as builds before
  // restore did, gets them in the order expire() needs.
  template <typename F>
  void for_each_oldest_first(F&& f) const {
    std::lock_guard lock(mu_);
    std::vector<std::pair<int64_t, const std::string*>> by_time;
    by_time.reserve(seen_.size());
    for (const auto& [id, ts] : seen_) by_time.emplace_back(ts, &id);
    std::sort(by_time.begin(), by_time.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : *a.second < *b.second;
    });
    for (const auto& [ts, id] : by_time) f(*id, ts);
  }
  // Remembers ids a snapshot kept, given in any order, as try_insert would (a repeated id once,
  // one older than the window not at all), and puts them in time order: expire() looks only at
  // the oldest, so one young id ahead of older ones would keep them all past the window.
  void restore(std::vector<std::pair<int64_t, std::string>> ids, int64_t now_ms);

 private:
  void expire(int64_t now_ms);
  const int64_t window_ms_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int64_t> seen_;
  std::deque<std::pair<int64_t, std::string>> order_;
};

}  // namespace cairn::detail
