// StagingRing (see staging_ring.h).
#include "staging_ring.h"

#include <sys/mman.h>

#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "futex.h"

namespace cairn::log {

Result<std::unique_ptr<StagingRing>> StagingRing::create(uint64_t capacity, Lsn start) {
  CAIRN_CHECK(start % format::kFrameAlign == 0);
  const uint64_t bytes = std::bit_ceil(std::max<uint64_t>(capacity, format::kBlockSize));
  // Published-ness is read from the tag word, so unreserved space must read as zero: anonymous
  // pages are, without a memset that would touch (and fault in) all of them before the first
  // append (tens of milliseconds of a restart for the default 32 MiB).
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    return Status(StatusCode::kLimitExceeded,
                  "staging_bytes: the system refused " + std::to_string(bytes) +
                      " bytes of memory for the staging ring (" + std::strerror(err) +
                      "); set a smaller staging_bytes or allow the process more memory");
  }
  return std::unique_ptr<StagingRing>(
      new StagingRing(bytes - 1, static_cast<std::byte*>(p), start));
}

StagingRing::StagingRing(uint64_t mask, std::byte* data, Lsn start)
    : mask_(mask), data_(data), reserve_pos_(start), released_(start), cleared_(start) {}

StagingRing::~StagingRing() {
  ::munmap(data_, mask_ + 1);
}

Lsn StagingRing::reserve(uint32_t size) {
  CAIRN_DCHECK(size % format::kFrameAlign == 0 && size <= capacity());
  const Lsn pos = reserve_pos_.fetch_add(size, std::memory_order_acq_rel);
  if (pos + size - released_.load(std::memory_order_acquire) > capacity()) {
    wait_for_space(pos + size);
  }
  return pos;
}

void StagingRing::wait_for_space(Lsn end) {
  for (int spin = 0;; ++spin) {
    if (end - released_.load(std::memory_order_acquire) <= capacity()) return;
    if (spin < 64) {
      cpu_relax();
      continue;
    }
    const uint32_t seq = release_seq_.load(std::memory_order_acquire);
    space_waiters_.fetch_add(1, std::memory_order_seq_cst);
    if (end - released_.load(std::memory_order_seq_cst) > capacity())
      futex_wait(&release_seq_, seq);
    space_waiters_.fetch_sub(1, std::memory_order_relaxed);
  }
}

void StagingRing::write(Lsn pos, const void* src, size_t len) {
  const uint64_t off = pos & mask_;
  const size_t first = static_cast<size_t>(std::min<uint64_t>(len, capacity() - off));
  std::memcpy(data_ + off, src, first);
  if (first < len) std::memcpy(data_, static_cast<const std::byte*>(src) + first, len - first);
}

void StagingRing::write_u64(Lsn pos, uint64_t v) {
  CAIRN_DCHECK(pos % 8 == 0);
  std::memcpy(at(pos), &v, sizeof v);
}

void StagingRing::publish(Lsn pos, uint64_t tag_word) {
  CAIRN_DCHECK(tag_word != 0 && pos % 8 == 0);
  std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(at(pos + format::kLengthOffset)))
      .store(tag_word, std::memory_order_release);
}

uint64_t StagingRing::published_tag(Lsn pos) const {
  return std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(at(pos + format::kLengthOffset)))
      .load(std::memory_order_acquire);
}

uint64_t StagingRing::read_u64(Lsn pos) const {
  uint64_t v;
  std::memcpy(&v, at(pos), sizeof v);
  return v;
}

void StagingRing::read(Lsn pos, void* dst, size_t len) const {
  const uint64_t off = pos & mask_;
  const size_t first = static_cast<size_t>(std::min<uint64_t>(len, capacity() - off));
  std::memcpy(dst, data_ + off, first);
  if (first < len) std::memcpy(static_cast<std::byte*>(dst) + first, data_, len - first);
}

void StagingRing::zero(Lsn from, Lsn to) {
  const uint64_t len = to - from;
  const uint64_t off = from & mask_;
  const uint64_t first = std::min<uint64_t>(len, capacity() - off);
  std::memset(data_ + off, 0, first);
  if (first < len) std::memset(data_, 0, len - first);
}

void StagingRing::clear(Lsn up_to) {
  CAIRN_CHECK(up_to >= cleared_ && up_to - released_.load(std::memory_order_relaxed) <= capacity());
  zero(cleared_, up_to);
  cleared_ = up_to;
}

void StagingRing::release(Lsn up_to) {
  const Lsn from = released_.load(std::memory_order_relaxed);
  CAIRN_CHECK(up_to >= from && up_to - from <= capacity());
  if (up_to > cleared_) {
    zero(cleared_, up_to);
    cleared_ = up_to;
  }
  released_.store(up_to, std::memory_order_seq_cst);
  release_seq_.fetch_add(1, std::memory_order_seq_cst);
  if (space_waiters_.load(std::memory_order_seq_cst) > 0) futex_wake_all(&release_seq_);
}

}  // namespace cairn::log
