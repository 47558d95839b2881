// Power cuts under the log (log_power_cut.h): fifty seeded rounds per variant (by default) — direct
// I/O (O_DSYNC writes, two in flight), buffered I/O (write + fdatasync), one write in flight — each
// with several cuts and recoveries. CAIRN_POWER_CUT_SEED replays a run and CAIRN_POWER_CUT_ROUNDS
// sets the rounds (default 50; more, up to 20 times as many, until a cut has left a torn tail to
// cut); a failure prints the power_cut_rounds command that replays its round alone.
#include <gtest/gtest.h>

#include <iostream>

#include "power_cut/log_power_cut.h"
#include "power_cut/power_cut_rounds.h"

namespace cairn::testing {
namespace {

void run_variant(LogCutConfig config, const std::string& variant) {
  const uint64_t seed = env_u64("CAIRN_POWER_CUT_SEED", fresh_seed());
  const uint64_t rounds = env_u64("CAIRN_POWER_CUT_ROUNDS", 50);
  SCOPED_TRACE("CAIRN_POWER_CUT_SEED=" + std::to_string(seed));
  LogCutResult totals;
  uint64_t ran = 0;
  const std::string failure = run_rounds(
      seed, rounds, "power_cut_rounds log --variant " + variant,
      [&](uint64_t s) {
        config.seed = s;
        const LogCutResult r = run_log_cut_round(config);
        totals.acknowledged += r.acknowledged;
        totals.cuts_during_open += r.cuts_during_open;
        totals.torn_tails_cut += r.torn_tails_cut;
        totals.sectors_torn += r.sectors_torn;
        totals.writes_in_flight_at_cut += r.writes_in_flight_at_cut;
        totals.segments = std::max(totals.segments, r.segments);
        return r.failure;
      },
      [&] { return totals.torn_tails_cut > 0; }, rounds * 20, &ran);
  std::cout << "[ power    ] " << variant << ": " << ran << " rounds of seed " << seed << ", "
            << totals.acknowledged << " records acknowledged, " << totals.torn_tails_cut
            << " torn tails cut, " << totals.cuts_during_open << " cuts during open, "
            << totals.writes_in_flight_at_cut << " writes in flight at cuts, "
            << totals.sectors_torn << " unsynced sectors kept, up to " << totals.segments
            << " segments" << std::endl;
  EXPECT_EQ(failure, "");
  EXPECT_GT(totals.acknowledged, 0u) << "no record was acknowledged: the rounds proved nothing";
  EXPECT_GT(totals.torn_tails_cut, 0u) << "no cut left a torn tail: the cuts fall too early";
}

TEST(LogPowerCut, DirectIoKeepsEveryAcknowledgedRecord) {
  run_variant(LogCutConfig{.direct_io = true}, "direct");
}

TEST(LogPowerCut, BufferedIoKeepsEveryAcknowledgedRecord) {
  run_variant(LogCutConfig{.direct_io = false}, "buffered");
}

TEST(LogPowerCut, OneWriteInFlightKeepsEveryAcknowledgedRecord) {
  run_variant(LogCutConfig{.direct_io = true, .writes_in_flight = 1}, "one-in-flight");
}

}  // namespace
}  // namespace cairn::testing
