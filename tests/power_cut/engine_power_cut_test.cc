// Power cuts under the engine (engine_power_cut.h): seeded rounds of the crash workload, each with
// several cuts and recoveries, checked like the SIGKILL crash test. CAIRN_POWER_CUT_SEED replays
// a run and CAIRN_ENGINE_POWER_CUT_ROUNDS sets the rounds (default 12); a failure prints the
// power_cut_rounds command that replays its round alone.
#include <gtest/gtest.h>

#include <iostream>

#include "power_cut/engine_power_cut.h"
#include "power_cut/power_cut_rounds.h"

namespace cairn::testing {
namespace {

TEST(EnginePowerCut, RunsFinishOnceAndDurableStepsNeverRunAgainAcrossPowerCuts) {
  const uint64_t seed = env_or("CAIRN_POWER_CUT_SEED", fresh_seed());
  const uint64_t rounds = env_or("CAIRN_ENGINE_POWER_CUT_ROUNDS", 12);
  SCOPED_TRACE("CAIRN_POWER_CUT_SEED=" + std::to_string(seed));
  uint64_t cuts = 0;
  uint64_t cuts_during_start = 0;
  uint64_t snapshot_loads = 0;
  std::string last_summary;
  const std::string failure = run_rounds(seed, rounds, "power_cut_rounds engine", [&](uint64_t s) {
    const EngineCutResult r = run_engine_cut_round(EngineCutConfig{.seed = s});
    cuts += r.cuts;
    cuts_during_start += r.cuts_during_start;
    snapshot_loads += r.snapshot_loads;
    last_summary = r.summary;
    return r.failure;
  });
  std::cout << "[ power    ] engine: " << rounds << " rounds of seed " << seed << ", " << cuts
            << " power cuts (" << cuts_during_start << " during start(), " << snapshot_loads
            << " images with a snapshot to load, each the state of a full replay); the last round: "
            << last_summary << std::endl;
  EXPECT_EQ(failure, "");
  EXPECT_GT(cuts, rounds) << "most rounds ended before their cuts: the rounds proved little";
  EXPECT_GE(snapshot_loads, rounds) << "a round ended without a snapshot to compare";
}

}  // namespace
}  // namespace cairn::testing
