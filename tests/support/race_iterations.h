// CAIRN_RACE_ITERATIONS: how many rounds the race hunts run, per thousand of their normal count
// (1000, all of them, unless set). The sanitizer builds set 250 (tools/scripts/test.sh): their
// threads run 5-20 times slower, and they look for memory errors and races on these paths, while
// the normal build tries the full count for the rare interleaving.
#pragma once

#include <algorithm>
#include <cstdint>

#include "support/env.h"

namespace cairn::testing {

inline int race_iterations(int normal) {
  const uint64_t per_mille = std::max<uint64_t>(1, env_u64("CAIRN_RACE_ITERATIONS", 1000));
  return static_cast<int>(std::max<uint64_t>(1, static_cast<uint64_t>(normal) * per_mille / 1000));
}

}  // namespace cairn::testing
