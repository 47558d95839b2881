// U64Map<V>: a nonzero 64-bit id -> V, an open-addressing hash table (linear probing,
// backward-shift deletion, no tombstones), at most half full. RunTable (run id -> RunRecord*) is
// on the step path: apply looks a run up for almost every record, and this costs one multiply and
// usually one cache line, with 16 bytes per slot. The timer wheel keeps its generations in one.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "cairn/engine.h"

namespace cairn::detail {

struct RunRecord;

template <typename V>
class U64Map {
 public:
  U64Map() { slots_.resize(kMinSlots); }

  // Null when absent.
  const V* find(uint64_t id) const {
    if (id == 0) return nullptr;
    for (size_t i = home(id);; i = (i + 1) & mask()) {
      const Slot& s = slots_[i];
      if (s.id == id) return &s.value;
      if (s.id == 0) return nullptr;
    }
  }
  V* find(uint64_t id) { return const_cast<V*>(std::as_const(*this).find(id)); }
  bool contains(uint64_t id) const { return find(id) != nullptr; }

  // Precondition: id != 0 and not present.
  void insert(uint64_t id, V value) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(id, std::move(value));
    ++size_;
  }

  // Inserts or overwrites.
  void set(uint64_t id, V value) {
    if (V* v = find(id)) {
      *v = std::move(value);
    } else {
      insert(id, std::move(value));
    }
  }

  bool erase(uint64_t id) {
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
      if (s.id != 0) f(s.id, s.value);
    }
  }

  void clear() {
    slots_.assign(kMinSlots, Slot{});
    size_ = 0;
  }

 private:
  struct Slot {
    uint64_t id = 0;
    V value{};
  };
  static constexpr size_t kMinSlots = 64;

  size_t mask() const { return slots_.size() - 1; }
  size_t home(uint64_t id) const {
    return static_cast<size_t>((id * 0x9E3779B97F4A7C15ull) >> 20) & mask();
  }
  void place(uint64_t id, V value) {
    size_t i = home(id);
    while (slots_[i].id != 0) i = (i + 1) & mask();
    slots_[i] = Slot{id, std::move(value)};
  }
  void rehash(size_t n) {
    std::vector<Slot> old(n);
    old.swap(slots_);
    for (const Slot& s : old) {
      if (s.id != 0) place(s.id, s.value);
    }
  }
  void grow() { rehash(slots_.size() * 2); }
  void shrink() { rehash(slots_.size() / 2); }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

// Run id -> the run's state, for apply.
class RunTable : public U64Map<RunRecord*> {
 public:
  RunRecord* find(RunId id) const {
    RunRecord* const* p = U64Map::find(id);
    return p == nullptr ? nullptr : *p;
  }
};

}  // namespace cairn::detail
