// SpscRing: a fixed-capacity, lock-free ring from one producer thread to one consumer thread —
// how on_run_finished (on the log's writer thread, where nothing may lock, allocate or wait) hands
// run ends to the workload's thread. All memory is allocated by the constructor; push() and
// drain() never allocate, lock or wait. A full ring refuses the entry and counts it (dropped())
// instead of blocking the producer: size it for the most entries that can be pending, and let the
// consumer recover what a drop lost.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace orders {

template <typename T>
class SpscRing {
 public:
  // `capacity` is rounded up to a power of two.
  explicit SpscRing(size_t capacity)
      : mask_(std::bit_ceil(std::max<size_t>(capacity, 2)) - 1),
        slots_(std::make_unique<T[]>(mask_ + 1)) {}
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  size_t capacity() const { return mask_ + 1; }

  // Producer only. Returns false, and counts the entry as dropped, when the ring is full.
  bool push(const T& value) noexcept {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_.load(std::memory_order_acquire) > mask_) {
      dropped_.fetch_add(1, std::memory_order_release);
      return false;
    }
    slots_[tail & mask_] = value;
    tail_.store(tail + 1, std::memory_order_release);  // publishes the slot
    return true;
  }

  // Consumer only. Calls `fn(const T&)` on every entry pushed so far, oldest first; returns how
  // many there were.
  template <typename Fn>
  size_t drain(Fn&& fn) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    const uint64_t tail = tail_.load(std::memory_order_acquire);
    for (uint64_t i = head; i != tail; ++i) fn(std::as_const(slots_[i & mask_]));
    head_.store(tail, std::memory_order_release);  // hands the slots back to the producer
    return static_cast<size_t>(tail - head);
  }

  // Entries refused because the ring was full (any thread).
  uint64_t dropped() const { return dropped_.load(std::memory_order_acquire); }

 private:
  const size_t mask_;
  const std::unique_ptr<T[]> slots_;
  // Each index on its own cache line: the producer writes tail_, the consumer head_.
  alignas(64) std::atomic<uint64_t> head_{0};  // next entry to read
  alignas(64) std::atomic<uint64_t> tail_{0};  // next slot to write
  alignas(64) std::atomic<uint64_t> dropped_{0};
};

}  // namespace orders
