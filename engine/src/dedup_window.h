// DedupWindow: event ids seen within the window (default 24 h), so an event sent twice starts
// its runs once. Each id is remembered as of when the engine accepted it (not the time its sender
// put in the event). A live send reserves its id before appending: the reservation is pending
// until the live projection applies the durable record (confirm()), and another send of that id
// waits for it meanwhile, so "duplicate" is only ever answered for an id whose event is durable.
// Replay and snapshot restore insert confirmed ids. Thread-safe (a mutex: sends are not the step
// path). Each id is held whole, twice (the map and the time order): send() takes ids of at most
// EngineOptions::event_id_bytes_max for that reason. How many it holds grows with the rate of sends
// that name an id times the window: reserve() refuses a new id past `ids_max` (confirm() and
// restore() never refuse: their ids are durable already, and a restart may go past it).
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cairn::detail {

class DedupWindow {
 public:
  explicit DedupWindow(int64_t window_ms, uint64_t ids_max = UINT64_MAX)
      : window_ms_(window_ms), ids_max_(ids_max) {}

  enum class Reserve {
    kReserved,   // the id is new: now reserved (pending) by this caller
    kDuplicate,  // the id's event is durable (or reserved by the same `owner`)
    kGaveUp,     // it was pending and `give_up` said to stop waiting
    kFull,       // the id is new, and `ids_max` ids are held (pending ones included)
  };
  // Reserves `id` as of `now_ms` (pending until confirm() or erase()). An id another caller has
  // reserved and not yet confirmed is waited for: confirmed, it is a duplicate; released, this
  // caller may reserve it. A nonzero `owner` that holds the pending reservation itself (one send()
  // naming an id twice) gets kDuplicate at once. `give_up` is asked every few milliseconds while
  // waiting (the engine stops).
  Reserve reserve(const std::string& id, int64_t now_ms, uint64_t owner,
                  const std::function<bool()>& give_up);
  // The record of `id`, accepted at `accepted_ms`, was applied (it is durable): a pending
  // reservation becomes confirmed (waiters are told); an id not held is remembered as of
  // `accepted_ms` (replay), unless that is older than the window. A time after `now_ms` counts as
  // `now_ms`: a clock that was ahead must not keep the id (and every later one behind it) past
  // the window.
  void confirm(const std::string& id, int64_t accepted_ms, int64_t now_ms);
  // As confirm() for an id not held: true when it was new (or too old to remember), false for a
  // duplicate. Unit tests of the window use it.
  bool try_insert(const std::string& id, int64_t accepted_ms, int64_t now_ms);
  // Forgets a reservation whose append failed (waiters retry).
  void erase(const std::string& id);
  size_t size() const;
  // Every confirmed id, with its acceptance time, oldest first (what a snapshot keeps; restore
  // rebuilds it; pending ones are not durable yet). In time order so that a build that re-inserts
  // them one by one, as builds before restore did, gets them in the order expire() needs.
  template <typename F>
  void for_each_oldest_first(F&& f) const {
    std::lock_guard lock(mu_);
    std::vector<std::pair<int64_t, const std::string*>> by_time;
    by_time.reserve(seen_.size());
    for (const auto& [id, entry] : seen_) {
      if (!entry.pending) by_time.emplace_back(entry.at_ms, &id);
    }
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
  struct Entry {
    int64_t at_ms = 0;  // when the engine accepted it
    bool pending = false;
    uint64_t owner = 0;  // of a pending reservation
  };
  // Drops confirmed ids older than the window. Pending ones are not in order_ (they join it when
  // confirmed), so they never expire while a sender may still be told about them.
  void expire(int64_t now_ms);
  // Remembers a confirmed id (see try_insert; the caller holds mu_).
  bool insert_confirmed(std::string id, int64_t at_ms, int64_t now_ms);
  const int64_t window_ms_;
  const uint64_t ids_max_;
  mutable std::mutex mu_;
  std::condition_variable settled_;  // a pending reservation was confirmed or released
  std::unordered_map<std::string, Entry> seen_;
  std::deque<std::pair<int64_t, std::string>> order_;  // confirmed ids, mostly by time
};

}  // namespace cairn::detail
