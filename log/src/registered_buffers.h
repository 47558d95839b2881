// BufferRegistry: an optional side of an IoQueue that can pin the writer's batch buffers once
// (io_uring's registered buffers). A direct write from an unregistered buffer has every page of it
// pinned at each submission, on the writer thread: submitting a 0.7 MB batch took ~80 us that
// way, ~26 us registered.
#pragma once

#include <sys/uio.h>

#include <span>

namespace cairn::log {

class BufferRegistry {
 public:
  virtual ~BufferRegistry() = default;
  // Registers `buffers` (once, before any write from them); later writes whose data lies in one
  // of them use it. False when the kernel refuses (the locked-memory limit): writes work as before.
  // No write may come from a buffer once it is freed.
  virtual bool register_buffers(std::span<const iovec> buffers) = 0;
};

}  // namespace cairn::log
