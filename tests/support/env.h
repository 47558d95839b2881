// The test knobs read from the environment (CAIRN_*_ROUNDS, seeds, strides): one parser for all.
#pragma once

#include <cstdint>
#include <cstdlib>

namespace cairn::testing {

// The variable `name` as a number, or `fallback` when it is unset or empty.
inline uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::strtoull(v, nullptr, 10) : fallback;
}

}  // namespace cairn::testing
