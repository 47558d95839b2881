// RunTable: run id -> RunState*, an open-addressing hash table (linear probing, backward-shift
// deletion, no tombstones). apply looks a run up for almost every record, so this is on the step
// path: one multiply and usually one cache line, 16 bytes per slot, at most half full.
// Not thread-safe: Projection guards mutation with its lock.
#pragma once

#include <cstdint>
#include <vector>

#include "cairn/engine.h"

namespace cairn::detail {

struct RunState;

class RunTable {
 public:
  RunTable() { slots_.resize(kMinSlots); }

  RunState* find(RunId id) const {
    if (id == 0) return nullptr;
    for (size_t i = home(id);; i = (i + 1) & mask()) {
      const Slot& s = slots_[i];
      if (s.id == id) return s.run;
      if (s.id == 0) return nullptr;
    }
  }
  bool contains(RunId id) const { return find(id) != nullptr; }

  // Precondition: id != 0 and not present.
  void insert(RunId id, RunState* run) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(id, run);
    ++size_;
  }

  bool erase(RunId id) {
    if (id == 0) return false;
    size_t i = home(id);
    for (;; i = (i + 1) & mask()) {
      if (slots_[i].id == id) break;
      if (slots_[i].id == 0) return false;
    }
    // Shift later entries of the probe chain back so lookups never meet a hole.
    for (size_t j = (i + 1) & mask();; j = (j + 1) & mask()) {
      if (slots_[j].id == 0) break;
      const size_t h = home(slots_[j].id);
      // Move j into the hole i when j's home is not in the cyclic range (i, j].
      const bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
      if (!stays) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Slot{};
    --size_;
    if (slots_.size() > kMinSlots && size_ * 8 < slots_.size()) shrink();
    return true;
  }

  size_t size() const { return size_; }

  template <typename F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_) {
      if (s.id != 0) f(s.id, s.run);
    }
  }

  void clear() {
    slots_.assign(kMinSlots, Slot{});
    size_ = 0;
  }

 private:
  struct Slot {
    RunId id = 0;
    RunState* run = nullptr;
  };
  static constexpr size_t kMinSlots = 64;

  size_t mask() const { return slots_.size() - 1; }
  size_t home(RunId id) const {
    return static_cast<size_t>((id * 0x9E3779B97F4A7C15ull) >> 20) & mask();
  }
  void place(RunId id, RunState* run) {
    size_t i = home(id);
    while (slots_[i].id != 0) i = (i + 1) & mask();
    slots_[i] = Slot{id, run};
  }
  void rehash(size_t n) {
    std::vector<Slot> old(n);
    old.swap(slots_);
    for (const Slot& s : old) {
      if (s.id != 0) place(s.id, s.run);
    }
  }
  void grow() { rehash(slots_.size() * 2); }
  void shrink() { rehash(slots_.size() / 2); }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace cairn::detail
