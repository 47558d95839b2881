// TimerWheel: a hierarchical timing wheel (6 levels of 64 slots, 1 ms resolution, about 2 years
// of range; later deadlines wait in an overflow list). Inserting is O(1); advancing moves each
// timer down at most once per level. Cancellation is lazy: each run has at most one live timer,
// identified by a generation number, and stale entries are dropped when they come due or, once
// they outnumber the live ones (cancelled or replaced timers with distant deadlines), by a
// compaction that places the live ones again (amortized O(1) per arm or cancel).
// Not thread-safe: TimerService guards it.
#pragma once

#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "cairn/engine.h"
#include "run_table.h"

namespace cairn::detail {

// The wheel's keys: a run's id for its own timer (a sleep, a wait's timeout, a retry, a throttle,
// a debounce or batch deadline); the id with kTimeoutTimerBit for its function's timeouts; a cron
// trigger's index with kCronTimerBit for its next tick. Run ids stay far below both bits.
constexpr RunId kTimeoutTimerBit = RunId{1} << 62;
constexpr RunId kCronTimerBit = RunId{1} << 61;
inline RunId timeout_timer_key(RunId run) {
  return run | kTimeoutTimerBit;
}

struct TimerEntry {
  int64_t deadline_ms = 0;
  RunId run = 0;
  uint32_t position = 0;
  uint8_t reason = 0;  // schema::ResumeReason
  uint32_t generation = 0;
};

class TimerWheel {
 public:
  explicit TimerWheel(int64_t now_ms) : now_(now_ms) {}

  // Replaces the run's timer, if any.
  void arm(RunId run, uint32_t position, uint8_t reason, int64_t deadline_ms);
  void cancel(RunId run);
  // Moves time to `now_ms` and appends every timer now due to `due`.
  void advance(int64_t now_ms, std::vector<TimerEntry>* due);
  // The earliest deadline that may be due (a lower bound; INT64_MAX when there is none).
  int64_t next_deadline() const;
  size_t size() const { return live_.size(); }
  // Entries held, live or stale (for tests: what the wheel's memory grows with).
  size_t entries() const { return entries_; }
  int64_t now() const { return now_; }

 private:
  static constexpr int kLevels = 6;
  static constexpr int kSlotBits = 6;
  static constexpr int kSlots = 1 << kSlotBits;

  void place(const TimerEntry& e, std::vector<TimerEntry>* due);
  bool is_live(const TimerEntry& e) const;
  // Rebuilds the wheel from its live entries when stale ones exceed 2 × live + kStaleFloor.
  void compact_if_stale();
  static constexpr size_t kStaleFloor = 4096;

  int64_t now_;
  std::array<std::array<std::vector<TimerEntry>, kSlots>, kLevels> slots_;
  std::array<uint64_t, kLevels> occupied_{};  // bit s: slot s of that level is not empty
  std::vector<TimerEntry> overflow_;
  std::vector<TimerEntry> due_now_;  // armed with a deadline already passed
  U64Map<uint32_t> live_;            // run -> generation of its live timer
  uint32_t generation_ = 0;
  size_t entries_ = 0;  // in slots_, overflow_ and due_now_: live_.size() of them are live
};

}  // namespace cairn::detail
