// Crash test of the log: a child process appends from several threads and is killed with SIGKILL,
// round after round on the same log, so recovery of a cut tail, rotation and writing on after a
// recovery are all exercised. After every kill the log must reopen with every acknowledged record
// intact (crash/crash_log_check.h lists the checks). Every round checks what the round added and
// verifies the whole log; every 10th round and the last also read the whole log again, record by
// record, so the cost stays linear in the log's size.
//
// When to kill is measured in the child's progress, read from its report pipe, never in time since
// the spawn (which on a slow or loaded machine may all pass before the first acknowledgement):
// 1 in 20 rounds is killed after the child reports that it begins Log::open, a seeded fraction
// of the last open's length later (a kill during the open and its recovery), 1 in 20 as soon as it
// reports the log open (before any acknowledgement), 1 in 10 at its first acknowledgements, and the
// rest after a seeded number of further acknowledgements (log-uniform up to 20000, 5000 with large
// records: mostly soon after the restart, with a tail over about 50 segments) and 0..500 us more.
// So 9 rounds in 10 are killed only once records were acknowledged, on any machine. A child that
// reports nothing for 60 s fails the round as a hang.
//
// The seed is printed; CAIRN_CRASH_SEED=<seed> replays a run's kill points (not the exact
// interleaving), CAIRN_CRASH_ROUNDS=<n> sets the rounds per test (default 30),
// CAIRN_CRASH_VERBOSE=1 prints one line per round (where it was killed, what the child had
// reported), CAIRN_KEEP_TEST_DIRS=1 keeps the log for a look after a failure.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

#include "cairn/log/log.h"
#include "crash/crash_log_check.h"
#include "crash/reporting_child.h"
#include "support/env.h"
#include "support/temp_dir.h"

#ifndef CAIRN_CRASH_CHILD_PATH
#error "CAIRN_CRASH_CHILD_PATH must name the log_crash_child executable"
#endif

namespace cairn::testing {
namespace {

// Whether the log gets direct I/O here (kAuto falls back to buffered where O_DIRECT is refused).
bool direct_io_available(const log::LogOptions& options) {
  TempDir probe;
  auto log = log::Log::open(probe.path(), options);
  return log.ok() && (*log)->stats().direct_io;
}

// A child that sends no report for this long has hung: the round fails instead of waiting on.
// Only a stall counts, so a slow machine never fails a round that makes progress.
constexpr auto kStallTimeout = std::chrono::seconds(60);

// Where a round's child is killed. Points are counted in the child's reports, not in time since
// the spawn: a slow machine (ASan, other load) delays the kill but does not move it to an earlier
// phase, so a round killed "after N acknowledgements" has always had them.
struct KillPoint {
  enum class At {
    kOpening,  // `delay` after the child began Log::open: during the open and its recovery
    kOpened,   // as soon as the log is open, before any acknowledgement
    kAcks,     // once it has acknowledged its first records and `further_acks` more, then `delay`
  };
  At at = At::kAcks;
  size_t further_acks = 0;
  double open_fraction = 0;  // kOpening: `delay` is this fraction of how long the last open took
  std::chrono::microseconds delay{0};

  std::string describe() const {
    const std::string us = std::to_string(delay.count()) + " us";
    switch (at) {
      case At::kOpening:
        return us + " after it began to open the log (" +
               std::to_string(static_cast<int>(open_fraction * 100)) + "% of the last open)";
      case At::kOpened:
        return "as soon as the log was open";
      case At::kAcks:
        break;
    }
    if (further_acks == 0 && delay.count() == 0) return "at its first acknowledgements";
    return "at its first acknowledgements + " + std::to_string(further_acks) + " more (+ " + us +
           ")";
  }
};

// Records are acknowledged at about 60 a millisecond here (25 with large records; ASan at -O0 is
// some 25 times slower), a segment holds about 370 records (100 with large records), and a
// reopened log writes on in its last segment. So where a kill lands within a segment is already
// spread by where the previous round left the log; the counts below are mostly small, to land
// kills in the first writes after a restart's recovery, with a log-uniform tail over about 50
// segments' worth of records (rotations, a steady state). The tail is what a round costs, under a
// sanitizer most of all.
double further_acks_max(const ChildConfig& c) {
  return c.large_records ? 5000 : 20000;
}
// Up to this long after the counted acknowledgement: the kill lands anywhere in a write cycle (a
// few hundred us here), not always just after a completion.
constexpr uint64_t kAckJitterUs = 500;

// 1..max, log-uniform: as likely 1..10 as 10..100.
size_t draw_log_uniform(std::mt19937_64& rng, double max) {
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  return static_cast<size_t>(std::exp(u * std::log(max)));
}

// 1 in 20 rounds is killed during the open, 1 in 20 right after it (before any acknowledgement),
// 1 in 10 at its first acknowledgements; the rest after a long-tailed number more.
KillPoint draw_kill_point(std::mt19937_64& rng, double further_max) {
  KillPoint p;
  const uint64_t r = rng() % 20;
  if (r == 0) {
    p.at = KillPoint::At::kOpening;
    p.open_fraction = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  } else if (r == 1) {
    p.at = KillPoint::At::kOpened;
  } else if (r >= 4) {
    p.further_acks = draw_log_uniform(rng, further_max);
    p.delay = std::chrono::microseconds(rng() % (kAckJitterUs + 1));
  }
  return p;
}

// How long the children's Log::open takes, from their marks: 4..8 ms here, 10..50 ms under ASan,
// longer on a loaded machine. Kills meant for the open are timed by the last one, so that they
// land inside it on a machine of any speed.
struct OpenPace {
  std::chrono::microseconds last_open{5000};  // a guess until a child reports its open

  void learn(const ReportingChild::Progress& p) {
    if (p.opening && p.opened) {
      last_open = std::chrono::duration_cast<std::chrono::microseconds>(*p.opened - *p.opening);
    }
  }
  std::chrono::microseconds into_open(double fraction) const {
    return std::chrono::duration_cast<std::chrono::microseconds>(last_open * fraction);
  }
};

// Reads the child's reports until it has reached `point`.
Followed wait_for_kill_point(ReportingChild& child, const KillPoint& point) {
  using Progress = ReportingChild::Progress;
  switch (point.at) {
    case KillPoint::At::kOpening:
      return child.wait_until([](const Progress& p) { return p.opening.has_value(); },
                              kStallTimeout);
    case KillPoint::At::kOpened:
      return child.wait_until([](const Progress& p) { return p.opened.has_value(); },
                              kStallTimeout);
    case KillPoint::At::kAcks:
      break;
  }
  const auto first = child.wait_until([](const Progress& p) { return p.acks > 0; }, kStallTimeout);
  if (first != Followed::kReached) return first;
  const size_t target = child.progress().acks + point.further_acks;
  return child.wait_until([target](const Progress& p) { return p.acks >= target; }, kStallTimeout);
}

// What the child reported before the kill, for messages.
std::string describe_progress(const ReportingChild::Progress& p) {
  auto us = [](ReportingChild::Clock::time_point a, ReportingChild::Clock::time_point b) {
    return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(b - a).count()) +
           " us";
  };
  std::string s = std::to_string(p.acks) + " acknowledged";
  if (p.opening && p.opened) s += ", open took " + us(*p.opening, *p.opened);
  if (p.opened && p.first_ack) s += ", first ack " + us(*p.opened, *p.first_ack) + " later";
  if (!p.opening) s += ", before it began to open the log";
  return s;
}

// One round's child: started, killed at `point`. Its reports join `acked`.
void run_and_kill_child(const ChildConfig& cfg, const KillPoint& point, AckedRecords* acked,
                        ReportingChild::Progress* progress) {
  ReportingChild child(CAIRN_CRASH_CHILD_PATH, cfg);
  ASSERT_TRUE(child.started()) << child.start_error();
  const Followed waited = wait_for_kill_point(child, point);
  if (waited == Followed::kReached) child.read_for(point.delay);
  const std::string how = child.kill_and_reap();
  *progress = child.progress();
  if (waited == Followed::kStalled) {
    FAIL() << "the child reported nothing for " << kStallTimeout.count() << " s ("
           << describe_progress(*progress) << ") while it was to be killed " << point.describe()
           << ": it hangs";
  }
  ASSERT_TRUE(child.was_killed_by_sigkill())
      << "the child " << how << " before it was to be killed " << point.describe() << " ("
      << describe_progress(*progress) << ")";
  const std::string problem = acked->add(child.reports());
  ASSERT_EQ(problem, "");
}

// What the rounds of one test did, for its summary line.
struct RunTotals {
  uint64_t acked = 0;
  int rounds_with_acks = 0;
  int killed_in_startup = 0;  // before any acknowledgement was asked for
  int killed_at_first_acks = 0;
  int torn_tails_cut = 0;
  int spares_left = 0;
  int empty_last_segments = 0;
  CrashCheck last;

  void add(const KillPoint& point, size_t round_acks, const CrashCheck& check) {
    acked += round_acks;
    rounds_with_acks += round_acks > 0;
    killed_in_startup += point.at != KillPoint::At::kAcks;
    killed_at_first_acks += point.at == KillPoint::At::kAcks && point.further_acks == 0;
    torn_tails_cut += !check.recovery.damage.empty();
    spares_left += check.spare_left_behind;
    empty_last_segments += check.empty_last_segment;
    last = check;
  }
  void print(uint64_t rounds) const {
    std::cout << "[ crash    ] " << acked << " records acknowledged in " << rounds_with_acks
              << " of " << rounds << " rounds (killed during startup " << killed_in_startup
              << ", at the first acknowledgements " << killed_at_first_acks << "); log of "
              << last.seen.records << " records in " << last.segments
              << " segments; torn tails cut " << torn_tails_cut << ", kills leaving a spare "
              << spares_left << ", right after a rotation " << empty_last_segments << std::endl;
  }
};

void print_round(uint64_t round, const KillPoint& point, const ReportingChild::Progress& progress,
                 const CrashCheck& check) {
  std::cout << "[ crash    ] round " << round << ": killed " << point.describe() << ": "
            << describe_progress(progress) << "; log " << check.seen.records << " records in "
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
  OpenPace open_pace;
  for (uint64_t round = 1; round <= rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + " in " + log_dir.string());
    ChildConfig cfg = base;
    cfg.dir = log_dir.string();
    cfg.seed = rng();
    cfg.producer_base = static_cast<uint32_t>(round * 16);
    KillPoint point = draw_kill_point(rng, further_acks_max(base));
    if (point.at == KillPoint::At::kOpening) point.delay = open_pace.into_open(point.open_fraction);
    ReportingChild::Progress progress;
    run_and_kill_child(cfg, point, &acked, &progress);
    if (::testing::Test::HasFatalFailure()) return;
    open_pace.learn(progress);
    CrashCheck check;
    const bool full = round % 10 == 0 || round == rounds;
    check_log_after_crash(log_dir, options, acked, snapshot, full, &check);
    if (::testing::Test::HasFatalFailure()) return;
    snapshot = check.seen;
    totals.add(point, progress.acks, check);
    if (verbose) print_round(round, point, progress, check);
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
