// DedupWindow: event ids seen within the window (default 24 h), so an event sent twice starts
// its runs once. A live send reserves its id before appending; replay re-inserts the ids of
// recorded events. Thread-safe (a mutex: sends are not the step path).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace cairn::detail {

class DedupWindow {
 public:
  explicit DedupWindow(int64_t window_ms) : window_ms_(window_ms) {}
  // True when the id is new (and is now reserved); false for a duplicate.
  bool try_insert(const std::string& id, int64_t ts_ms, int64_t now_ms);
  // Forgets a reservation whose append failed.
  void erase(const std::string& id);
  size_t size() const;
  // Every id remembered, with its event time (what a snapshot keeps; try_insert rebuilds it).
  template <typename F>
  void for_each(F&& f) const {
    std::lock_guard lock(mu_);
    for (const auto& [id, ts] : seen_) f(id, ts);
  }

 private:
  void expire(int64_t now_ms);
  const int64_t window_ms_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int64_t> seen_;
  std::deque<std::pair<int64_t, std::string>> order_;
};

}  // namespace cairn::detail
