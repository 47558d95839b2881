// CAIRN_EVERY_OFFSET_STRIDE: how far apart the offsets are that the every-offset tests damage
// (1, every one, unless set). The sanitizer builds set 8 (tools/scripts/test.sh): they look for
// memory errors and races on these paths, not for the one offset whose outcome differs, which the
// normal build checks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace cairn::testing {

inline uint64_t every_offset_stride() {
  const char* v = std::getenv("CAIRN_EVERY_OFFSET_STRIDE");
  return std::max<uint64_t>(1, v != nullptr ? std::strtoull(v, nullptr, 10) : 1);
}

}  // namespace cairn::testing
