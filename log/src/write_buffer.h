// WriteBuffer: memory that direct writes are made from (the writer's batch buffers, the bench's
// raw baseline). Block-aligned and zeroed; from 2 MiB up it is aligned to 2 MiB and asks for
// transparent huge pages. Why: a direct write is handed to the disk as one segment per
// physically contiguous run of its buffer, and a virtio disk takes at most 254 segments per
// request (vda here). From 4 KiB pages, a 4 MiB batch is 1,024 segments and so 5 requests; from
// 2 MiB pages it is 2 segments and one request. On this VM that took a 4 MiB O_DIRECT|O_DSYNC
// write from 5.0 ms to 3.4 ms (bench/README.md, 2026-12-01 (night)).
// Where the kernel has no huge page to give (THP off, memory fragmented) the buffer is ordinary
// pages and everything works as before, only slower on such disks.
#pragma once

#include <cstddef>

namespace cairn::log {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

class WriteBuffer {
 public:
  WriteBuffer() = default;
  // `bytes` rounded up to the page size. Out of memory is a CHECK failure, as for any allocation.
  explicit WriteBuffer(size_t bytes);
  ~WriteBuffer();
  WriteBuffer(WriteBuffer&& other) noexcept;
  WriteBuffer& operator=(WriteBuffer&& other) noexcept;
  WriteBuffer(const WriteBuffer&) = delete;
  WriteBuffer& operator=(const WriteBuffer&) = delete;

  std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  // Whether huge pages were asked for (the kernel may still give ordinary ones).
  bool wants_huge_pages() const { return size_ >= kHugePageBytes; }
  // Gives the memory up without unmapping it: for a buffer the kernel may still be reading after
  // its queue broke, which must never be reused.
  void leak() {
    data_ = nullptr;
    size_ = mapped_ = 0;
  }

 private:
  std::byte* data_ = nullptr;
  size_t size_ = 0;    // what the caller asked for
  size_t mapped_ = 0;  // the mapping, from data_
};

}  // namespace cairn::log
