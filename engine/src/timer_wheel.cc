// TimerWheel (see timer_wheel.h). An entry sits at the level of the highest 6-bit digit in which
// its deadline differs from `now_`, in the slot named by that digit. Advancing drains, per level,
// the slots whose digit `now_` passes, and places their entries again relative to the new time:
// they land on a lower level or are due.
#include "timer_wheel.h"

#include <algorithm>
#include <bit>
#include <climits>

namespace cairn::detail {

void TimerWheel::arm(RunId run, uint32_t position, uint8_t reason, int64_t deadline_ms) {
  const uint32_t gen = ++generation_;
  live_.set(run, gen);
  // A deadline at or before now is due at the next advance().
  place(TimerEntry{deadline_ms, run, position, reason, gen}, &due_now_);
  ++entries_;
  compact_if_stale();  // a replaced timer's entry is stale
}

void TimerWheel::cancel(RunId run) {
  live_.erase(run);
  compact_if_stale();
}

void TimerWheel::compact_if_stale() {
  // Each live timer has one entry; the rest are stale. Rebuilding once they outnumber the live
  // ones twice over (plus a floor, so that a small wheel is left alone) costs O(entries) after
  // at least that many arms or cancels made them: amortized O(1), and memory O(live).
  const size_t live = live_.size();
  if (entries_ - live <= 2 * live + kStaleFloor) return;
  std::vector<TimerEntry> keep;
  keep.reserve(live);
  auto take = [&](std::vector<TimerEntry>& from) {
    for (const TimerEntry& e : from) {
      if (is_live(e)) keep.push_back(e);
    }
    std::vector<TimerEntry>().swap(from);  // its capacity too
  };
  for (int level = 0; level < kLevels; ++level) {
    for (uint64_t bits = occupied_[level]; bits != 0; bits &= bits - 1) {
      take(slots_[level][std::countr_zero(bits)]);
    }
    occupied_[level] = 0;
  }
  take(overflow_);
  take(due_now_);
  // Placed again relative to now_, as advance() places what it moves: each lands where it would
  // have been armed now (or is due at the next advance, as before).
  for (const TimerEntry& e : keep) place(e, &due_now_);
  entries_ = keep.size();
}

bool TimerWheel::is_live(const TimerEntry& e) const {
  const uint32_t* gen = live_.find(e.run);
  return gen != nullptr && *gen == e.generation;
}

void TimerWheel::place(const TimerEntry& e, std::vector<TimerEntry>* due) {
  if (e.deadline_ms <= now_) {
    due->push_back(e);
    return;
  }
  const uint64_t diff = static_cast<uint64_t>(e.deadline_ms) ^ static_cast<uint64_t>(now_);
  const int level = (63 - std::countl_zero(diff)) / kSlotBits;
  if (level >= kLevels) {
    overflow_.push_back(e);
    return;
  }
  const int slot = static_cast<int>((static_cast<uint64_t>(e.deadline_ms) >> (level * kSlotBits)) &
                                    (kSlots - 1));
  slots_[level][slot].push_back(e);
  occupied_[level] |= uint64_t{1} << slot;
}

void TimerWheel::advance(int64_t now_ms, std::vector<TimerEntry>* due) {
  std::vector<TimerEntry> moved;
  moved.swap(due_now_);
  now_ms = std::max(now_ms, now_);
  const uint64_t old_t = static_cast<uint64_t>(now_);
  const uint64_t new_t = static_cast<uint64_t>(now_ms);
  for (int level = 0; level < kLevels; ++level) {
    const int shift = level * kSlotBits;
    const uint64_t old_digit = (old_t >> shift) & (kSlots - 1);
    const uint64_t new_digit = (new_t >> shift) & (kSlots - 1);
    const bool higher_changed = (old_t >> (shift + kSlotBits)) != (new_t >> (shift + kSlotBits));
    // Slots (old_digit, last]: every slot after the old digit when a higher digit moved on.
    const uint64_t last = higher_changed ? kSlots - 1 : new_digit;
    if (!higher_changed && new_digit == old_digit) continue;
    for (uint64_t s = old_digit + 1; s <= last; ++s) {
      if ((occupied_[level] >> s & 1) == 0) continue;
      auto& slot = slots_[level][s];
      moved.insert(moved.end(), slot.begin(), slot.end());
      slot.clear();
      occupied_[level] &= ~(uint64_t{1} << s);
    }
  }
  now_ = now_ms;
  if (!overflow_.empty()) {
    std::vector<TimerEntry> keep;
    for (const TimerEntry& e : overflow_) {
      const uint64_t diff = static_cast<uint64_t>(e.deadline_ms) ^ new_t;
      if (e.deadline_ms <= now_ || (63 - std::countl_zero(diff)) / kSlotBits < kLevels) {
        moved.push_back(e);
      } else {
        keep.push_back(e);
      }
    }
    overflow_.swap(keep);
  }
  entries_ -= moved.size();
  for (const TimerEntry& e : moved) {
    if (!is_live(e)) continue;  // cancelled or replaced
    std::vector<TimerEntry> now_due;
    place(e, &now_due);
    if (now_due.empty()) ++entries_;  // placed again
    for (const TimerEntry& d : now_due) {
      live_.erase(d.run);
      due->push_back(d);
    }
  }
}

int64_t TimerWheel::next_deadline() const {
  if (!due_now_.empty()) return now_;
  // Level 0 holds exact deadlines; on a higher level the start of the slot is a lower bound.
  int64_t best = INT64_MAX;
  const uint64_t t = static_cast<uint64_t>(now_);
  for (int level = 0; level < kLevels; ++level) {
    if (occupied_[level] == 0) continue;
    const int shift = level * kSlotBits;
    const uint64_t digit = (t >> shift) & (kSlots - 1);
    // Occupied slots are all after the current digit (within this rotation).
    const uint64_t above = occupied_[level] & ~((uint64_t{2} << digit) - 1);
    if (above == 0) continue;
    const uint64_t slot = static_cast<uint64_t>(std::countr_zero(above));
    const uint64_t base = (t >> (shift + kSlotBits)) << (shift + kSlotBits);
    best = std::min(best, static_cast<int64_t>(base | (slot << shift)));
    break;  // lower levels are earlier than anything higher
  }
  if (!overflow_.empty()) {
    for (const TimerEntry& e : overflow_) best = std::min(best, e.deadline_ms);
  }
  return best;
}

}  // namespace cairn::detail
