// Running power-cut rounds: per-round seeds derived from one seed (round 0 runs the seed itself,
// so `--seed <a round's seed> --rounds 1` replays that round), the round count and seed from the
// environment or the command line, and one summary line. Shared by the tests and the
// power_cut_rounds tool (power_cut_main.cc).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>

#include "support/env.h"

namespace cairn::testing {

inline uint64_t round_seed(uint64_t seed, uint64_t round) {
  if (round == 0) return seed;
  uint64_t z = seed + round * 0x9e3779b97f4a7c15ULL;  // SplitMix64
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline uint64_t fresh_seed() {
  std::random_device entropy;
  return (uint64_t{entropy()} << 32) | entropy();
}

// Runs `round(seed)` for rounds 0..rounds-1 until one returns a failure. Returns "" or the
// failure, naming the round and how to replay it (`replay` is the command without --seed).
// With `covered`, rounds go on past `rounds` (up to `max_rounds` in all) while it returns false:
// what a test requires its cuts to have hit (a torn tail, say) is a matter of where the seeded
// cuts fell, so a short run (the sanitizer builds run few rounds) keeps cutting until it has hit
// it instead of failing by chance. `*ran` gets the number of rounds run.
inline std::string run_rounds(uint64_t seed, uint64_t rounds, const std::string& replay,
                              const std::function<std::string(uint64_t)>& round,
                              const std::function<bool()>& covered = nullptr,
                              uint64_t max_rounds = 0, uint64_t* ran = nullptr) {
  const uint64_t limit = covered ? std::max(rounds, max_rounds) : rounds;
  uint64_t r = 0;
  for (; r < limit && (r < rounds || !covered()); ++r) {
    const uint64_t s = round_seed(seed, r);
    std::string failure = round(s);
    if (!failure.empty()) {
      if (ran != nullptr) *ran = r + 1;
      return "round " + std::to_string(r) + " of seed " + std::to_string(seed) +
             " failed: " + failure + "\n  replay it: " + replay + " --rounds 1 --seed " +
             std::to_string(s);
    }
  }
  if (ran != nullptr) *ran = r;
  return {};
}

}  // namespace cairn::testing
