// CAIRN_EVERY_OFFSET_STRIDE: how far apart the offsets are that the every-offset tests damage
// (1, every one, unless set). The sanitizer builds set 16 (tools/scripts/test.sh): they look for
// memory errors and races on these paths, not for the one offset whose outcome differs, which the
// normal build checks.
#pragma once

#include <algorithm>
#include <cstdint>

#include "support/env.h"

namespace cairn::testing {

inline uint64_t every_offset_stride() {
  return std::max<uint64_t>(1, env_u64("CAIRN_EVERY_OFFSET_STRIDE", 1));
}

}  // namespace cairn::testing
