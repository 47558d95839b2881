// FairKeyQueue: runs waiting for a concurrency slot, grouped by key and served round-robin across
// keys (one busy key cannot starve the others), by aged priority within a key; it also counts the
// slots held, overall and per key, so pop() hands out only a run that may start now.
// Used by the engine's concurrency gate (docs/flow-control.md).
// Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cairn/log/status.h"

namespace cairn::flow {

struct FairKeyQueueOptions {
  // Most runs queued at once. push() beyond it returns kLimitExceeded and queues nothing.
  // Default: 100,000.
  size_t queued_max = 100'000;
  // Most slots held at once over all keys (the function's concurrency); 0 = no limit. At the
  // limit pop() returns nothing until release(). Default: 0.
  uint32_t running_max = 0;
  // Most slots held at once by one key; 0 = no limit. A key at its limit is passed over by pop()
  // (its runs stay queued) until release() for it. Default: 0.
  uint32_t per_key_running_max = 0;
  // Priorities accepted: -priority_abs_max .. priority_abs_max; push() refuses others
  // (kInvalidArgument). 0 - 1,000,000. Default: 600.
  int32_t priority_abs_max = 600;
  // Aging: a run's place within its key is its enqueue time moved earlier by
  // priority * aging_ms_per_priority, so waiting this long is worth one priority level.
  // 1 - 86,400,000 (a day). Default: 1000.
  int64_t aging_ms_per_priority = 1000;
};

struct QueuedRun {
  uint64_t handle = 0;  // the caller's id of the run (a run id)
  std::string key;
  int32_t priority = 0;
  int64_t enqueued_ms = 0;
};

class FairKeyQueue {
 public:
  // kInvalidArgument naming the option when one is out of range.
  static Result<FairKeyQueue> create(const FairKeyQueueOptions& options = {});

  FairKeyQueue(FairKeyQueue&&) = default;
  FairKeyQueue& operator=(FairKeyQueue&&) = default;
  FairKeyQueue(const FairKeyQueue&) = delete;
  FairKeyQueue& operator=(const FairKeyQueue&) = delete;

  // Queues a run. kLimitExceeded at queued_max, kAlreadyExists for a handle already queued,
  // kInvalidArgument for a priority out of range; nothing changes on an error. O(log n).
  Status push(std::string_view key, uint64_t handle, int32_t priority, int64_t now_ms);

  // The next run that may start, which now holds a slot of its key (until release()); nullopt
  // when nothing is queued or every key with queued runs is at a limit. Keys take turns: the key
  // served goes to the back of the turn order. O(log n).
  std::optional<QueuedRun> pop();

  // Takes a slot for a run of `key` at once, without queueing it, when that passes nobody: no
  // key waits for a turn and this one has nothing queued and a free slot. False: push() it.
  // O(1); what a busy engine does for almost every run when its keys do not collide.
  bool try_take(std::string_view key);

  // A run of `key` gave its slot back (it finished, or sleeps or waits: such runs hold no slot).
  // Precondition: the key holds a slot. O(1).
  void release(std::string_view key);

  // Takes a queued run out (cancelled, or queued too long). False when it is not queued.
  bool remove(uint64_t handle);

  size_t queued() const { return handles_.size(); }
  size_t running() const { return running_; }
  // Keys with queued runs or held slots.
  size_t keys() const { return keys_.size(); }
  // Keys waiting for their turn (queued runs and below their slot limit).
  size_t keys_in_turn() const { return turn_count_; }

 private:
  struct Entry {
    int64_t place = 0;  // enqueue time - priority * aging_ms_per_priority: lower goes first
    uint64_t seq = 0;   // push order, among equal places
    uint64_t handle = 0;
    int64_t enqueued_ms = 0;
    int32_t priority = 0;
    bool operator<(const Entry& o) const {
      return place != o.place ? place < o.place : seq < o.seq;
    }
  };
  struct KeyState {
    const std::string* name = nullptr;  // the map's key (stable: map nodes do not move)
    std::set<Entry> entries;
    uint32_t running = 0;
    // The turn order: a list of the keys that may be served, linked through their states.
    KeyState* prev = nullptr;
    KeyState* next = nullptr;
    bool in_turn = false;
  };
  struct Location {
    KeyState* key;
    std::set<Entry>::iterator entry;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  explicit FairKeyQueue(const FairKeyQueueOptions& options) : options_(options) {}
  bool may_take_turn(const KeyState& k) const;
  void join_turns(KeyState* k);
  void leave_turns(KeyState* k);
  void erase_if_unused(KeyState* k);

  FairKeyQueueOptions options_;
  std::unordered_map<std::string, KeyState, StringHash, std::equal_to<>> keys_;
  std::unordered_map<uint64_t, Location> handles_;
  KeyState* turn_head_ = nullptr;
  KeyState* turn_tail_ = nullptr;
  size_t turn_count_ = 0;
  size_t running_ = 0;
  uint64_t next_seq_ = 0;
};

}  // namespace cairn::flow
