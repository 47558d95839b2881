// Thin wrappers over the futex system call: sleeping until a 32-bit word changes (for good, or at
// most a timeout so a sleeper can notice an abort), waking the sleepers, and the spin-wait pause.
// Used where a thread must block without a mutex: the log's back-pressure and durability waits,
// and cairn-bench's producers waiting for their in-flight window (through cairn_log_internal).
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>

namespace cairn::log {

namespace futex_detail {
inline void wait(std::atomic<uint32_t>* word, uint32_t expected, const timespec* timeout) {
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, timeout,
          nullptr, 0);
}
}  // namespace futex_detail

// Sleeps while `word` still holds `expected` (returns at once if it does not). Spurious returns
// happen: callers re-check their condition in a loop.
inline void futex_wait(std::atomic<uint32_t>* word, uint32_t expected) {
  futex_detail::wait(word, expected, nullptr);
}

// As futex_wait, but for at most `timeout_ns`.
inline void futex_wait_for(std::atomic<uint32_t>* word, uint32_t expected, int64_t timeout_ns) {
  const timespec timeout{static_cast<time_t>(timeout_ns / 1'000'000'000),
                         static_cast<long>(timeout_ns % 1'000'000'000)};
  futex_detail::wait(word, expected, &timeout);
}

inline void futex_wake_all(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
          nullptr, 0);
}

// As futex_wait, but a futex_wake_bits wakes this sleeper only when `bits` meets its mask (a
// futex_wake_all wakes it whatever its bits).
inline void futex_wait_bits(std::atomic<uint32_t>* word, uint32_t expected, uint32_t bits) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_BITSET_PRIVATE, expected,
          nullptr, nullptr, bits);
}

// Wakes the sleepers whose futex_wait_bits bits meet `mask`.
inline void futex_wake_bits(std::atomic<uint32_t>* word, uint32_t mask) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_BITSET_PRIVATE, INT_MAX, nullptr,
          nullptr, mask);
}

// The pause instruction of a spin-wait loop.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace cairn::log
