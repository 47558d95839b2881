// StagingRing: the lock-free hand-off from appending threads to the writer. Appenders reserve
// space with one fetch_add (the position becomes the record's LSN), copy their frame in, and
// publish it by storing its tag word last. The writer reads published frames in LSN order and
// releases space only once they are durable, so the ring's size bounds memory and is the queue
// depth: a full ring makes appenders wait (back-pressure).
//
// While staged, a frame's checksum field holds the appender's AppendCompletion pointer (or 0);
// the writer computes the real checksum in its batch buffer.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "cairn/log/check.h"
#include "cairn/log/status.h"
#include "cairn/log/types.h"
#include "frame_format.h"

namespace cairn::log {

class StagingRing {
 public:
  // `capacity` is rounded up to a power of two. `start` is the LSN of the first frame. Fails
  // (kLimitExceeded, naming staging_bytes) when the system refuses the memory: with the kernel's
  // default overcommit a mapping larger than RAM and swap is refused, and so is one beyond
  // RLIMIT_AS; that is a setting to change, not a reason to abort the process.
  static Result<std::unique_ptr<StagingRing>> create(uint64_t capacity, Lsn start);
  ~StagingRing();
  StagingRing(const StagingRing&) = delete;
  StagingRing& operator=(const StagingRing&) = delete;

  uint64_t capacity() const { return mask_ + 1; }

  // --- appenders (any thread) ---
  // Reserves `size` bytes; returns the LSN. Waits while the ring is full.
  Lsn reserve(uint32_t size);
  void write(Lsn pos, const void* src, size_t len);
  void write_u64(Lsn pos, uint64_t v);  // pos must be 8-aligned
  // Makes the frame at `pos` visible to the writer by storing its tag word (the header word after
  // the checksum). Everything the appender wrote before is visible to the writer too.
  void publish(Lsn pos, uint64_t tag_word);

  // --- the writer thread ---
  // The tag word of the frame starting at `pos`, or 0 when it is not published yet.
  uint64_t published_tag(Lsn pos) const;
  uint64_t read_u64(Lsn pos) const;
  void read(Lsn pos, void* dst, size_t len) const;
  // Zeroes [cleared, up_to) early: the writer calls it once it copied those frames out, while
  // they are still in its cache, so that release() has nothing left to zero.
  void clear(Lsn up_to);
  // Zeroes what clear() did not of [released, up_to) and hands the space back to appenders.
  void release(Lsn up_to);
  Lsn reserved_end() const { return reserve_pos_.load(std::memory_order_acquire); }
  Lsn released() const { return released_.load(std::memory_order_relaxed); }

 private:
  StagingRing(uint64_t mask, std::byte* data, Lsn start);
  std::byte* at(Lsn pos) const { return data_ + (pos & mask_); }
  void wait_for_space(Lsn end);
  void zero(Lsn from, Lsn to);

  uint64_t mask_;
  std::byte* data_;
  alignas(64) std::atomic<Lsn> reserve_pos_;
  alignas(64) std::atomic<Lsn> released_;
  std::atomic<uint32_t> release_seq_{0};
  std::atomic<uint32_t> space_waiters_{0};
  // The writer's alone (off the line appenders read): [released_, cleared_) is zero already.
  alignas(64) Lsn cleared_;
};

}  // namespace cairn::log
