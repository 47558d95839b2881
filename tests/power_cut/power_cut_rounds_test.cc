// run_rounds (power_cut_rounds.h): the round seeds it hands out, where it stops on a failure, and
// how far it goes on for coverage the requested rounds did not reach.
#include "power_cut/power_cut_rounds.h"

#include <gtest/gtest.h>

#include <vector>

namespace cairn::testing {
namespace {

TEST(PowerCutRounds, RoundZeroRunsTheSeedItselfAndTheOthersDistinctSeeds) {
  std::vector<uint64_t> seen;
  const std::string failure = run_rounds(42, 5, "replay", [&](uint64_t s) {
    seen.push_back(s);
    return std::string();
  });
  EXPECT_EQ(failure, "");
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0], 42u);
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_EQ(seen[i], round_seed(42, i));
}

TEST(PowerCutRounds, AFailureStopsTheRoundsAndNamesHowToReplayItsRound) {
  uint64_t ran = 0;
  int calls = 0;
  const std::string failure = run_rounds(
      7, 10, "power_cut_rounds log",
      [&](uint64_t) { return ++calls == 3 ? std::string("lost a record") : std::string(); },
      nullptr, 0, &ran);
  EXPECT_EQ(ran, 3u);
  EXPECT_NE(failure.find("round 2 of seed 7 failed: lost a record"), std::string::npos) << failure;
  EXPECT_NE(
      failure.find("power_cut_rounds log --rounds 1 --seed " + std::to_string(round_seed(7, 2))),
      std::string::npos)
      << failure;
}

TEST(PowerCutRounds, RoundsGoOnPastTheCountUntilCoveredButNoFurtherThanTheLimit) {
  uint64_t ran = 0;
  int hits = 0;
  uint64_t calls = 0;
  // Covered at the 7th round: runs 7 although 3 were asked for.
  run_rounds(
      1, 3, "r",
      [&](uint64_t) {
        if (++calls == 7) ++hits;
        return std::string();
      },
      [&] { return hits > 0; }, 60, &ran);
  EXPECT_EQ(ran, 7u);
  // Covered from the start: exactly the rounds asked for, never fewer.
  calls = 0;
  run_rounds(
      1, 3, "r", [&](uint64_t) { return ++calls, std::string(); }, [] { return true; }, 60, &ran);
  EXPECT_EQ(ran, 3u);
  // Never covered: stops at the limit (and the test then reports the missing coverage).
  calls = 0;
  run_rounds(
      1, 3, "r", [&](uint64_t) { return ++calls, std::string(); }, [] { return false; }, 60, &ran);
  EXPECT_EQ(ran, 60u);
}

}  // namespace
}  // namespace cairn::testing
