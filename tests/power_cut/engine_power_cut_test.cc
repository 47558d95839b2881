// Power cuts under the engine (engine_power_cut.h): seeded rounds of the crash workload, timed and
// keyed functions included (cron, timeouts, debounce, batching on a fast clock that runs on while
// the power is off), each with several cuts and recoveries, checked like the SIGKILL crash test;
// over the rounds, every one of those paths must have run. CAIRN_POWER_CUT_SEED replays a run and
// CAIRN_ENGINE_POWER_CUT_ROUNDS sets the rounds (default 12; more, up to twice as many, until each
// path has run); a failure prints the power_cut_rounds command that replays its round alone.
#include <gtest/gtest.h>

#include <functional>
#include <iostream>

#include "power_cut/engine_power_cut.h"
#include "power_cut/power_cut_rounds.h"

namespace cairn::testing {
namespace {

// Rounds from which the test expects every timed and keyed path to have run at least once.
constexpr uint64_t kRoundsForCoverage = 6;

TEST(EnginePowerCut, RunsFinishOnceAndDurableStepsNeverRunAgainAcrossPowerCuts) {
  const uint64_t seed = env_u64("CAIRN_POWER_CUT_SEED", fresh_seed());
  const uint64_t rounds = env_u64("CAIRN_ENGINE_POWER_CUT_ROUNDS", 12);
  SCOPED_TRACE("CAIRN_POWER_CUT_SEED=" + std::to_string(seed));
  uint64_t cuts = 0;
  uint64_t cuts_during_start = 0;
  uint64_t snapshot_loads = 0;
  EngineCutTimed timed;
  std::string last_summary;
  // Every timed and keyed path ran under the cuts (each is in the dozens over the default 12
  // rounds; a short run goes on, up to twice its rounds, until each has run).
  auto covered = [&] {
    return timed.cron_runs > 0 && timed.cron_caught_up > 0 && timed.cron_ticks_skipped > 0 &&
           timed.late_cancelled > 0 && timed.queued_cancelled > 0 && timed.debounce_completed > 0 &&
           timed.debounce_replaced_across_sends > 0 && timed.batches_full > 0 &&
           timed.batches > timed.batches_full && timed.batch_joined_across_sends > 0;
  };
  uint64_t ran = 0;
  const std::string failure = run_rounds(
      seed, rounds, "power_cut_rounds engine",
      [&](uint64_t s) {
        const EngineCutResult r = run_engine_cut_round(EngineCutConfig{.seed = s});
        cuts += r.cuts;
        cuts_during_start += r.cuts_during_start;
        snapshot_loads += r.snapshot_loads;
        timed.add(r.timed);
        last_summary = r.summary;
        return r.failure;
      },
      rounds >= kRoundsForCoverage ? std::function<bool()>(covered) : nullptr, rounds * 2, &ran);
  std::cout << "[ power    ] engine: " << ran << " rounds of seed " << seed << ", " << cuts
            << " power cuts (" << cuts_during_start << " during start(), " << snapshot_loads
            << " images with a snapshot to load, each the state of a full replay); the last round: "
            << last_summary << std::endl;
  std::cout << "[ power    ] engine, over all rounds: " << timed.to_string() << std::endl;
  EXPECT_EQ(failure, "");
  EXPECT_GT(cuts, ran) << "most rounds ended before their cuts: the rounds proved little";
  EXPECT_GE(snapshot_loads, ran) << "a round ended without a snapshot to compare";
  // Which path did not run (a replay with fewer rounds may see none, and is not asked to).
  if (!failure.empty() || rounds < kRoundsForCoverage) return;
  EXPECT_GT(timed.cron_runs, 0u) << "no cron tick ran";
  EXPECT_GT(timed.cron_caught_up, 0u)
      << "no tick that fell while the power was off ran after the restart";
  EXPECT_GT(timed.cron_ticks_skipped, 0u)
      << "no CronCursor skipped the ticks of a pause longer than kCronCatchUpMax ticks";
  EXPECT_GT(timed.late_cancelled, 0u) << "no run was cancelled by its finish timeout";
  EXPECT_GT(timed.queued_cancelled, 0u) << "no run was cancelled by its start timeout";
  EXPECT_GT(timed.debounce_completed, 0u);
  EXPECT_GT(timed.debounce_replaced_across_sends, 0u)
      << "no debounced run was replaced by a later send's event";
  EXPECT_GT(timed.batches_full, 0u);
  EXPECT_GT(timed.batches, timed.batches_full) << "no batch closed at its timeout";
  EXPECT_GT(timed.batch_joined_across_sends, 0u) << "no batch was joined by a later send's event";
}

}  // namespace
}  // namespace cairn::testing
