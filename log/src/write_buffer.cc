// WriteBuffer (see write_buffer.h).
#include "write_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <utility>

#include "cairn/log/check.h"

namespace cairn::log {
namespace {

size_t round_up(size_t n, size_t to) {
  return (n + to - 1) / to * to;
}

}  // namespace

WriteBuffer::WriteBuffer(size_t bytes) : size_(bytes) {
  CAIRN_CHECK(bytes > 0);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const bool huge = bytes >= kHugePageBytes;
  const size_t align = huge ? kHugePageBytes : page;
  mapped_ = round_up(bytes, align);
  // Anonymous memory is zeroed and page-aligned. For 2 MiB alignment, map one huge page more and
  // give back what lies before and after the aligned part.
  const size_t reserve = huge ? mapped_ + kHugePageBytes : mapped_;
  void* p = ::mmap(nullptr, reserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CAIRN_CHECK_MSG(p != MAP_FAILED, "out of memory for a write buffer");
  const auto start = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = round_up(start, align);
  if (const size_t head = aligned - start; head > 0) ::munmap(p, head);
  if (const size_t tail = reserve - (aligned - start) - mapped_; tail > 0) {
    ::munmap(reinterpret_cast<void*>(aligned + mapped_), tail);
  }
  data_ = reinterpret_cast<std::byte*>(aligned);
  // Only a request: refused where THP is compiled out or disabled, and then ordinary pages serve.
  if (huge) (void)::madvise(data_, mapped_, MADV_HUGEPAGE);
}

WriteBuffer::~WriteBuffer() {
  if (data_ != nullptr) ::munmap(data_, mapped_);
}

WriteBuffer::WriteBuffer(WriteBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

WriteBuffer& WriteBuffer::operator=(WriteBuffer&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(data_, mapped_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

}  // namespace cairn::log
