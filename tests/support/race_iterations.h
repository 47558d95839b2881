// CAIRN_RACE_ITERATIONS: how many rounds the race hunts run, per thousand of their normal count
// (1000, all of them, unless set). The sanitizer builds set 250 (tools/scripts/test.sh): their
// threads run 5-20 times slower, and they look for memory errors and races on these paths, while
// the normal build tries the full count for the rare interleaving.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace cairn::testing {

inline int race_iterations(int normal) {
  const char* v = std::getenv("CAIRN_RACE_ITERATIONS");
  const int64_t per_mille = v != nullptr ? std::max<int64_t>(1, std::atoll(v)) : 1000;
  return static_cast<int>(std::max<int64_t>(1, normal * per_mille / 1000));
}

}  // namespace cairn::testing
