// Crash test of the log: a child process appends from several threads and is killed with SIGKILL
// at a random moment, round after round on the same log, so recovery of a cut tail, rotation and
// writing on after a recovery are all exercised. After every kill the log must reopen with every
// acknowledged record intact (crash/crash_log_check.h lists the checks). Every round checks what
// the round added and verifies the whole log; every 10th round and the last also read the whole
// log again, record by record, so the cost stays linear in the log's size.
//
// The seed is printed; CAIRN_CRASH_SEED=<seed> replays a run (up to the exact timing of the
// kills), CAIRN_CRASH_ROUNDS=<n> sets the rounds per test (default 30), CAIRN_CRASH_VERBOSE=1
// prints one line per round, CAIRN_KEEP_TEST_DIRS=1 keeps the log for a look after a failure.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <thread>

#include "cairn/log/log.h"
#include "crash/child_process.h"
#include "crash/crash_log_check.h"
#include "support/temp_dir.h"

#ifndef CAIRN_CRASH_CHILD_PATH
#error "CAIRN_CRASH_CHILD_PATH must name the log_crash_child executable"
#endif

namespace cairn::testing {
namespace {

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::strtoull(v, nullptr, 10) : fallback;
}

// Whether the log gets direct I/O here (kAuto falls back to buffered where O_DIRECT is refused).
bool direct_io_available(const log::LogOptions& options) {
  TempDir probe;
  auto log = log::Log::open(probe.path(), options);
  return log.ok() && (*log)->stats().direct_io;
}

// One round's child: started, left to append for `delay`, killed. Its reports join `acked`.
void run_and_kill_child(const ChildConfig& cfg, std::chrono::milliseconds delay,
                        AckedRecords* acked, size_t* round_acks) {
  ChildProcess child(CAIRN_CRASH_CHILD_PATH, cfg);
  ASSERT_TRUE(child.started()) << child.start_error();
  std::this_thread::sleep_for(delay);
  const std::string how = child.kill_and_reap();
  ASSERT_TRUE(child.was_killed_by_sigkill())
      << "the child " << how << " before it was killed at " << delay.count() << " ms";
  const std::string problem = acked->add(child.reports());
  ASSERT_EQ(problem, "");
  *round_acks = child.reports().size();
}

// What the rounds of one test did, for its summary line.
struct RunTotals {
  uint64_t acked = 0;
  int rounds_with_acks = 0;
  int torn_tails_cut = 0;
  int spares_left = 0;
  int empty_last_segments = 0;
  CrashCheck last;

  void add(size_t round_acks, const CrashCheck& check) {
    acked += round_acks;
    rounds_with_acks += round_acks > 0;
    torn_tails_cut += !check.recovery.damage.empty();
    spares_left += check.spare_left_behind;
    empty_last_segments += check.empty_last_segment;
    last = check;
  }
  void print(uint64_t rounds) const {
    std::cout << "[ crash    ] " << acked << " records acknowledged in " << rounds_with_acks
              << " of " << rounds << " rounds; log of " << last.seen.records << " records in "
              << last.segments << " segments; torn tails cut " << torn_tails_cut
              << ", kills leaving a spare " << spares_left << ", right after a rotation "
              << empty_last_segments << std::endl;
  }
};

void print_round(uint64_t round, std::chrono::milliseconds delay, size_t round_acks,
                 const CrashCheck& check) {
  std::cout << "[ crash    ] round " << round << ": killed at " << delay.count() << " ms, "
            << round_acks << " acknowledged, log " << check.seen.records << " records in "
            << check.segments << " segments"
            << (check.recovery.damage.empty() ? "" : ", cut: " + check.recovery.damage)
            << std::endl;
}

void run_crash_rounds(const ChildConfig& base) {
  const log::LogOptions options = base.log_options();
  if (!base.buffered && !direct_io_available(options)) {
    GTEST_SKIP() << "this file system refuses O_DIRECT; the buffered variant covers it";
  }
  std::random_device entropy;
  const uint64_t seed = env_u64("CAIRN_CRASH_SEED", (uint64_t{entropy()} << 32) | entropy());
  const uint64_t rounds = env_u64("CAIRN_CRASH_ROUNDS", 30);
  const bool verbose = env_u64("CAIRN_CRASH_VERBOSE", 0) != 0;
  std::cout << "[ crash    ] CAIRN_CRASH_SEED=" << seed << " (set it to replay), " << rounds
            << " rounds" << std::endl;
  ::testing::Test::RecordProperty("crash_seed", std::to_string(seed));
  SCOPED_TRACE("CAIRN_CRASH_SEED=" + std::to_string(seed));

  std::mt19937_64 rng(seed);
  TempDir dir;
  const std::filesystem::path log_dir = dir / "log";
  AckedRecords acked;
  LogSnapshot snapshot;
  RunTotals totals;
  for (uint64_t round = 1; round <= rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + " in " + log_dir.string());
    ChildConfig cfg = base;
    cfg.dir = log_dir.string();
    cfg.seed = rng();
    cfg.producer_base = static_cast<uint32_t>(round * 16);
    const auto delay = std::chrono::milliseconds(5 + rng() % 296);  // 5..300 ms
    size_t round_acks = 0;
    run_and_kill_child(cfg, delay, &acked, &round_acks);
    if (::testing::Test::HasFatalFailure()) return;
    CrashCheck check;
    const bool full = round % 10 == 0 || round == rounds;
    check_log_after_crash(log_dir, options, acked, snapshot, full, &check);
    if (::testing::Test::HasFatalFailure()) return;
    snapshot = check.seen;
    totals.add(round_acks, check);
    if (verbose) print_round(round, delay, round_acks, check);
  }
  totals.print(rounds);
  EXPECT_GT(totals.acked, 0u) << "no round got a record acknowledged: the test proved nothing";
}

ChildConfig default_child() {
  return ChildConfig{};
}

TEST(LogCrash, DirectIoKeepsEveryAcknowledgedRecordAcrossKills) {
  run_crash_rounds(default_child());
}

TEST(LogCrash, BufferedIoKeepsEveryAcknowledgedRecordAcrossKills) {
  ChildConfig c = default_child();
  c.buffered = true;
  run_crash_rounds(c);
}

TEST(LogCrash, OneWriteInFlightKeepsEveryAcknowledgedRecordAcrossKills) {
  ChildConfig c = default_child();
  c.writes_in_flight_max = 1;
  run_crash_rounds(c);
}

// Mostly 4..64 KiB records into 1 MiB segments: a rotation every few milliseconds, so many kills
// land while a spare is being prepared, renamed or first written.
TEST(LogCrash, KillsDuringSegmentRotationKeepEveryAcknowledgedRecord) {
  ChildConfig c = default_child();
  c.large_records = true;
  c.window = 4;  // large records fill segments fast enough; fewer bytes keep the checks quick
  c.durable_threads = 1;
  run_crash_rounds(c);
}

}  // namespace
}  // namespace cairn::testing
