// Crash test of the engine: engine_crash_child runs durable functions (workload.h: several steps
// per run, flaky steps and retries, sleeps, waits that are approved or time out, invoke,
// send_event, runs that fail as planned; and bursts of events for a rate-limited function, whose
// excess runs are skipped, and a throttled one, whose excess runs are delayed) and is interrupted
// again and again on the same directory, each incarnation recovering what the last one left: mostly
// with SIGKILL; one round in six with SIGTERM, a graceful stop (engine shutdown with runs in
// flight), half of those cut short by a SIGKILL 0..30 ms into the shutdown. After the last
// interruption a final incarnation runs until every run has finished and exits by itself. Then the
// log and the child's side journal must show (crash_checks.h): every acknowledged event durable,
// every run finished exactly once with the output recomputed from its input, no step run again once
// its completion was durable, and flow control held across the kills: no run admitted twice or
// acting before its RunAdmitted, no throttled run skipped or lost, and per key no window of a
// limit's period with more admissions than the limit allows. After every 10th interruption the log
// may have a torn tail, nothing worse (every start() in between checks that too).
//
// Cron and timeouts (timed_workload.h): the child's engine runs on a FastClock (fast_clock.h), 120
// times faster than real time and continuous across incarnations (every child computes it from
// the epoch this test passes), so an every-minute cron trigger ticks twice a real second, and a
// finish timeout and a start timeout (behind a concurrency limit) fire within a round. Every
// other duration the workload gives the engine is scaled alike, so those functions behave as on
// the real clock. The checks add: every tick from where tracking began has exactly one run or
// was recorded as skipped, and every timed-out run was cancelled once, after its deadline. On the
// same clock, bursts of events for a debounced and a batched function (keyed_workload.h): per key,
// the runs that complete, are replaced or join a batch must be those the events' recorded times
// give, each batch's run must see exactly its events, and no event is lost or delivered twice.
// And bursts for the guarded functions (guard_workload.h): an idempotency key starts one run,
// a singleton key never has two admitted unfinished runs (kSkip) or has the old one cancelled
// (kCancelRunning), a run a "halt" event names while it runs is cancelled (cancel_on), and runs
// queued by priority behind a concurrency limit of 1 all complete once.
// After the interruption of incarnations 15, 45, 75, ... the test waits 1.2 ticks (4.2 ticks
// every other time, more than kCronCatchUpMax + 1) before the next spawn: ticks fall while no
// child is alive and must run after the restart (the newest kCronCatchUpMax of them; older ones
// are skipped, and a long pause must skip some).
//
// When to interrupt is measured in the child's progress, read from the journal it appends to
// (from where this incarnation began), never in time since the spawn (which on a slow machine
// may all pass in exec and recovery): 1 in 8 incarnations is interrupted inside engine.start(),
// a seeded fraction of the previous start's length after its "B" line; the others after their
// "R" line (start() returned) and a seeded number of step executions ("X" lines) more: none in
// 1 of 10, else log-uniform up to 2000 (mostly soon after recovery, with a tail into a steady
// state). A journal that does not grow for 60 s fails the test as a hang.
//
// The seed is printed; CAIRN_ENGINE_CRASH_SEED=<seed> replays the workload and the interruption
// points (not the exact interleaving), CAIRN_ENGINE_CRASH_ROUNDS=<n> sets the number of interrupted
// incarnations (default 100), CAIRN_ENGINE_CRASH_RUNS=<n> the runs of main (default 2500: about 25
// finish per round here, so most rounds interrupt runs in flight and the final incarnation has a
// few hundred left; the default takes about 30 s on 2 cores) and, with them, n/4 flow bursts (about
// n flow runs, sent as the jobs go out), CAIRN_ENGINE_CRASH_VERBOSE=1 prints a line per round
// (where it was interrupted, how it ended, the step executions it journaled),
// CAIRN_KEEP_TEST_DIRS=1 keeps the directory (log, journal, child output) for a look after a
// failure.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cairn/log/verify.h"
#include "engine_crash/crash_checks.h"
#include "engine_crash/crash_options.h"
#include "engine_crash/fast_clock.h"
#include "engine_crash/guard_workload.h"
#include "engine_crash/journal.h"
#include "engine_crash/log_facts.h"
#include "engine_crash/timed_workload.h"
#include "support/child_process.h"
#include "support/env.h"
#include "support/temp_dir.h"

#ifndef CAIRN_ENGINE_CRASH_CHILD_PATH
#error "CAIRN_ENGINE_CRASH_CHILD_PATH must name the engine_crash_child executable"
#endif

namespace cairn::engine_crash {
namespace {

#ifdef CAIRN_SANITIZER_BUILD
constexpr bool kSanitizerBuild = true;
#else
constexpr bool kSanitizerBuild = false;
#endif

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::env_u64;
using testing::Followed;
using testing::Poll;

// The final incarnation must finish every run within this (plus 20 ms a run); longer is reported
// as a hang.
constexpr auto kFinalRoundTimeout = 300s;
// A child asked to stop must have shut its engine down within this.
constexpr auto kShutdownTimeout = 30s;
// A child whose journal does not grow for this long, while the test waits for it to reach the
// point where it is to be interrupted, hangs (recovery under ASan takes a second or two).
constexpr auto kStallTimeout = 60s;

struct RoundTotals {
  uint64_t kills = 0;
  uint64_t stops = 0;                  // graceful: SIGTERM, the engine shut down
  uint64_t kills_during_shutdown = 0;  // SIGTERM, then SIGKILL before the child was done
  uint64_t scans = 0;                  // logs verified after an interruption
  uint64_t torn_tails = 0;
};

// How one incarnation is interrupted (drawn every round, so the seed replays the sequence).
// Points count what the child journaled, not time since the spawn: a slow machine (a sanitizer,
// other load) delays the interruption but does not move it to an earlier phase.
struct RoundPlan {
  bool during_start;          // 1 in 8: during engine.start() (recovery), before the "R" line
  double start_fraction;      // those: this fraction (0..1) of the last start's length after "B"
  uint64_t executions;        // the others: after "R" and this many more step executions
  bool graceful;              // 1 in 6: SIGTERM instead of SIGKILL
  bool kill_during_shutdown;  // half of those: SIGKILL 0..30 ms after the SIGTERM
  std::chrono::milliseconds shutdown_grace;
};

// Step bodies run at about 1.5 a millisecond here, a run of main has about 12 of them, and an
// incarnation sees about 25 runs finish. Log-uniform counts (as likely 1..10 as 100..1000) make
// most interruptions land soon after recovery, where resumed runs re-execute their steps; the
// tail to 2000 keeps rounds that interrupt a steady state, and the mean (about 260) keeps about
// as many runs finishing per round as the default CAIRN_ENGINE_CRASH_RUNS assumes.
constexpr double kExecutionsMax = 2000;

// 1..max, log-uniform.
uint64_t draw_log_uniform(std::mt19937_64& rng, double max) {
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  return static_cast<uint64_t>(std::exp(u * std::log(max)));
}

RoundPlan draw_round(std::mt19937_64& rng) {
  RoundPlan p;
  p.during_start = rng() % 8 == 0;
  p.start_fraction = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  p.executions = rng() % 10 == 0 ? 0 : draw_log_uniform(rng, kExecutionsMax);
  p.graceful = rng() % 6 == 0;
  p.kill_during_shutdown = p.graceful && rng() % 2 == 0;
  p.shutdown_grace = std::chrono::milliseconds(rng() % 31);
  return p;
}

// After a kill the log may end in a torn write; anything else is damage the engine caused.
void expect_at_most_a_torn_tail(const std::filesystem::path& log_dir, uint64_t incarnation,
                                RoundTotals* totals) {
  if (!std::filesystem::exists(log_dir)) return;  // killed before the log was created
  ++totals->scans;
  auto report = log::verify_log(log_dir, verify_options());
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  if (report->damage) {
    ++totals->torn_tails;
    EXPECT_EQ(report->damage->kind, log::DamageKind::kTornTail)
        << "after killing incarnation " << incarnation << ": " << report->damage->to_string();
  }
}

// Follows the child's journal until `done(tail)`, or the child ends, or the journal stops
// growing for kStallTimeout (a hang: only silence counts, so a slow child is waited for).
Followed follow_until(ChildProcess& child, JournalTail& tail,
                      const std::function<bool(const JournalTail&)>& done) {
  return testing::follow_progress(
      [&] {
        if (tail.poll()) return Poll::kNews;
        return child.wait_for_exit(1ms) ? Poll::kChildGone : Poll::kQuiet;
      },
      [&] { return done(tail); }, kStallTimeout);
}

// What the parent knows of the child's startups: how long the last one took from its "B" line to
// its "R" line (a guess before the first), so that kills meant for start() land inside it on a
// machine of any speed.
struct StartPace {
  std::chrono::microseconds last_start = 50ms;
};

// Lets a child that has just journaled "B" run on into its start() for the plan's fraction of how
// long the last start took. Followed::kChildGone when it ended meanwhile.
Followed wait_into_start(ChildProcess& child, const RoundPlan& plan, const StartPace& pace,
                         std::string* where) {
  const auto delay =
      std::chrono::duration_cast<std::chrono::milliseconds>(pace.last_start * plan.start_fraction);
  *where = std::to_string(delay.count()) + " ms after B (" +
           std::to_string(static_cast<int>(plan.start_fraction * 100)) + "% of the last start)";
  return child.wait_for_exit(delay) ? Followed::kChildGone : Followed::kReached;
}

// Follows a child that has just journaled "B" to its "R" line and the plan's number of step
// executions after it; notes how long its start took.
Followed follow_past_start(ChildProcess& child, JournalTail& tail, const RoundPlan& plan,
                           StartPace* pace, std::string* where) {
  const auto began = std::chrono::steady_clock::now();
  *where = "during its start";
  const Followed r = follow_until(child, tail, [](const JournalTail& t) { return t.recovered(); });
  if (r != Followed::kReached) return r;
  pace->last_start = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - began);
  const uint64_t target = tail.executions() + plan.executions;
  *where = "after R + " + std::to_string(plan.executions) + " step executions";
  return follow_until(child, tail,
                      [target](const JournalTail& t) { return t.executions() >= target; });
}

// Follows the child to the point `plan` names. `where` says what the point was, for messages.
Followed reach_point(ChildProcess& child, JournalTail& tail, const RoundPlan& plan, StartPace* pace,
                     std::string* where) {
  *where = "before its B line";
  const Followed r = follow_until(child, tail, [](const JournalTail& t) { return t.began(); });
  if (r != Followed::kReached) return r;
  return plan.during_start ? wait_into_start(child, plan, *pace, where)
                           : follow_past_start(child, tail, plan, pace, where);
}

// Interrupts the child as `plan` says. Returns false when it had already finished by itself.
bool interrupt(ChildProcess& child, JournalTail& tail, const RoundPlan& plan, StartPace* pace,
               std::string* where, RoundTotals* totals) {
  const Followed reached = reach_point(child, tail, plan, pace, where);
  if (reached == Followed::kChildGone) return false;
  if (reached == Followed::kStalled) {
    child.kill_and_reap();
    ADD_FAILURE() << "the child's journal did not grow for " << kStallTimeout.count()
                  << " s while it was to be interrupted " << *where << " (a hang)";
    return true;
  }
  if (!plan.graceful) {
    child.kill_and_reap();
    ++totals->kills;
    return true;
  }
  child.send_signal(SIGTERM);
  if (plan.kill_during_shutdown && !child.wait_for_exit(plan.shutdown_grace)) {
    child.kill_and_reap();
    ++totals->kills_during_shutdown;
    return true;
  }
  if (!child.wait_for_exit(kShutdownTimeout)) {
    child.kill_and_reap();
    ADD_FAILURE() << "the child did not stop within " << kShutdownTimeout.count()
                  << " s of SIGTERM (a hang in shutdown)";
    return true;
  }
  // It may have finished everything just as it was asked to stop: then it is done.
  if (child.exited_zero()) return false;
  ++totals->stops;
  if (child.exited()) {
    EXPECT_EQ(child.exit_code(), kExitStopped) << "on SIGTERM the child " << child.how();
  }
  return true;
}

// The pause, in cron ticks, after interrupting `incarnation` (zero for most): a little over one
// tick (so at least one tick falls in it, and it runs after the restart), or, every other time,
// more than kCronCatchUpMax + 1 ticks (so the restart must skip some).
double pause_ticks_after(uint64_t incarnation) {
  if (incarnation % 30 != 15) return 0;
  return (incarnation / 30) % 2 == 0 ? 1.2 : kCronCatchUpMax + 1.2;
}

// When no child was alive, on the child's clock: from each interrupted child's end to the next
// spawn. A tick in one of these ran after a restart (caught up), if it ran at all.
struct DeadSpans {
  explicit DeadSpans(int64_t epoch) : clock(epoch, kClockSpeed) {}
  int64_t now_ms() const { return clock.us_at(steady_now_ns()) / 1000; }
  FastClock clock;
  std::vector<std::pair<int64_t, int64_t>> spans;
  std::optional<int64_t> dead_since;
  // Pauses after some start() returned (so tracking of the trigger had begun); the long ones.
  uint64_t pauses_after_tracking = 0;
  uint64_t long_pauses_after_tracking = 0;
};

uint64_t file_size_or_zero(const std::filesystem::path& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

TEST(EngineCrash, RunsFinishOnceAndDurableStepsNeverRunAgainAcrossKills) {
  std::random_device entropy;
  const uint64_t seed = env_u64("CAIRN_ENGINE_CRASH_SEED", (uint64_t{entropy()} << 32) | entropy());
  const uint64_t rounds = env_u64("CAIRN_ENGINE_CRASH_ROUNDS", 100);
  const uint64_t target_runs = env_u64("CAIRN_ENGINE_CRASH_RUNS", 2500);
  const bool verbose = env_u64("CAIRN_ENGINE_CRASH_VERBOSE", 0) != 0;
  std::cout << "[ crash    ] CAIRN_ENGINE_CRASH_SEED=" << seed << " (set it to replay), " << rounds
            << " interrupted incarnations, " << target_runs << " runs" << std::endl;
  if (const std::string supp = testing::child_tsan_suppressions(); !supp.empty()) {
    std::cout << "[ crash    ] children run with TSan suppressions for the ready queue's library: "
              << supp << std::endl;
  }
  ::testing::Test::RecordProperty("engine_crash_seed", std::to_string(seed));
  SCOPED_TRACE("CAIRN_ENGINE_CRASH_SEED=" + std::to_string(seed));

  const std::chrono::milliseconds final_timeout = kFinalRoundTimeout + target_runs * 20ms;
  std::mt19937_64 rng(seed);
  testing::TempDir dir;
  const std::filesystem::path data = dir / "data";
  const std::filesystem::path journal_path = dir / "journal.txt";
  const std::filesystem::path output = dir / "child-output.txt";
  SCOPED_TRACE("test directory " + dir.path().string());
  RoundTotals totals;
  StartPace pace;
  const auto t0 = std::chrono::steady_clock::now();
  // The children's clock epoch: one for all, so their clock runs on across restarts.
  const int64_t epoch = steady_now_ns();
  DeadSpans dead(epoch);
  bool some_start_returned = false;
  for (uint64_t incarnation = 1;; ++incarnation) {
    const RoundPlan plan = draw_round(rng);
    JournalTail tail(journal_path, file_size_or_zero(journal_path));
    if (dead.dead_since) dead.spans.emplace_back(*dead.dead_since, dead.now_ms());
    ChildProcess child({CAIRN_ENGINE_CRASH_CHILD_PATH, data.string(), journal_path.string(),
                        std::to_string(incarnation), std::to_string(target_runs),
                        std::to_string(seed), std::to_string(epoch)},
                       {.output = output});
    ASSERT_TRUE(child.started()) << child.start_error();
    std::string where;
    const bool interrupted =
        incarnation <= rounds && interrupt(child, tail, plan, &pace, &where, &totals);
    if (!interrupted && !child.wait_for_exit(final_timeout)) {
      child.kill_and_reap();
      FAIL() << "incarnation " << incarnation << " did not finish its runs within "
             << final_timeout.count() << " ms (a hang); its output:\n"
             << testing::tail_of_file(output);
    }
    ASSERT_EQ(testing::sanitizer_report(output), "")
        << "incarnation " << incarnation << " " << child.how();
    ASSERT_FALSE(::testing::Test::HasFailure())
        << "incarnation " << incarnation << " " << child.how() << "; its output:\n"
        << testing::tail_of_file(output);
    tail.poll();
    some_start_returned = some_start_returned || tail.recovered();
    if (verbose) {
      std::cout << "[ crash    ] incarnation " << incarnation << " "
                << (interrupted ? "interrupted " + where + (plan.graceful ? " with SIGTERM" : "")
                                : "not interrupted")
                << ": " << child.how() << "; it journaled " << tail.executions()
                << " step executions" << (tail.recovered() ? "" : ", no R: start() unfinished")
                << std::endl;
    }
    if (!interrupted) {
      ASSERT_TRUE(child.exited_zero())
          << "incarnation " << incarnation << " " << child.how() << "; its output:\n"
          << testing::tail_of_file(output);
      break;
    }
    dead.dead_since = dead.now_ms();  // the child has been reaped
    if (const double ticks = pause_ticks_after(incarnation); ticks > 0) {
      dead.pauses_after_tracking += some_start_returned;
      dead.long_pauses_after_tracking += some_start_returned && ticks > kCronCatchUpMax + 1;
      std::this_thread::sleep_for(
          std::chrono::milliseconds(static_cast<int64_t>(ticks * kTickMs / kClockSpeed)));
    }
    // Every next start() checks the log's tail as well (and refuses damage that is not a torn
    // tail); a full scan here each time would cost O(log) per round.
    if (incarnation % 10 == 0 || incarnation == rounds) {
      expect_at_most_a_torn_tail(log_dir_of(data), incarnation, &totals);
      if (::testing::Test::HasFailure()) return;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int64_t final_exit_ms = dead.now_ms();

  auto report = log::verify_log(log_dir_of(data), verify_options());
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_TRUE(report->intact()) << report->damage->to_string();
  std::string error;
  std::optional<LogFacts> facts = read_log_facts(log_dir_of(data), &error);
  ASSERT_TRUE(facts.has_value()) << error;
  const Journal journal = read_journal(journal_path);
  const CrashVerdict verdict = check_crash_outcome(*facts, journal, seed, target_runs, kClockSpeed);
  const uint64_t caught_up = cron_ticks_within(*facts, dead.spans);

  std::cout << "[ crash    ] " << totals.kills << " kills, " << totals.stops << " graceful stops, "
            << totals.kills_during_shutdown << " kills during shutdown (torn tails in "
            << totals.torn_tails << " of " << totals.scans << " scans) in " << seconds
            << " s; log of " << report->records << " records in " << report->segments.size()
            << " segments; " << verdict.summary.to_string() << std::endl;
  std::cout << "[ crash    ] cron: " << caught_up << " ticks fell while no child was alive and ran"
            << " after a restart (" << dead.spans.size() << " dead spans, "
            << dead.pauses_after_tracking << " pauses, " << dead.long_pauses_after_tracking
            << " of them long)" << std::endl;
  std::string shown;
  for (size_t i = 0; i < verdict.violations.size() && i < 40; ++i) {
    shown += "  " + verdict.violations[i] + "\n";
  }
  EXPECT_TRUE(verdict.violations.empty())
      << verdict.violations.size() << " violations (the first 40):\n"
      << shown;
  // The timed functions ran (their checks hold only what is in the log to account).
  EXPECT_EQ(verdict.summary.late_runs, late_runs(target_runs));
  EXPECT_EQ(verdict.summary.queued_runs, queued_bursts(target_runs) * kQueuedBurst);
  EXPECT_GT(verdict.summary.cron_runs, 0u);
  // Debounce and batching: both outcomes happened (bursts of one send replace or join each other
  // for sure; a later send does when it comes within the period or timeout, which the jobs' pace
  // makes common), and batches closed both full and at their timeout.
  EXPECT_GT(verdict.summary.debounce_completed, 0u);
  EXPECT_GT(verdict.summary.batches_full, 0u);
  EXPECT_GT(verdict.summary.batches, verdict.summary.batches_full);
  // Across sends only at the normal build's pace: a sanitizer build's child, on a loaded 2-core
  // machine, may send each next burst after the 100 ms batch timeout (a fresh Debian root had 106
  // runs joined, none from a later send). Its checks of what did happen still apply.
  if (!kSanitizerBuild) {
    EXPECT_GT(verdict.summary.debounce_replaced_across_sends, 0u);
    EXPECT_GT(verdict.summary.batch_joined_across_sends, 0u);
  }
  // The guarded functions (guard_workload.h) ran, each of their outcomes happened: duplicates of
  // an idempotency key from later sends skipped, singleton runs skipped and replaced, runs
  // halted while they held and runs that completed.
  EXPECT_EQ(verdict.summary.once_started, verdict.summary.once_keys);
  EXPECT_GT(verdict.summary.once_skipped_across_sends, 0u);
  EXPECT_GT(verdict.summary.solo_skipped, 0u);
  EXPECT_GT(verdict.summary.latest_replaced, 0u);
  EXPECT_EQ(verdict.summary.cancellable_runs, guard_bursts(target_runs) * kCancellableBurst);
  EXPECT_GT(verdict.summary.cancellable_cancelled_holding, 0u);
  EXPECT_GT(verdict.summary.cancellable_runs, verdict.summary.cancellable_cancelled);
  EXPECT_GT(verdict.summary.ranked_pairs, 0u);
  // A pause longer than a tick holds a tick, and at most kCronCatchUpMax ticks fall in it and in
  // the next start: the newest runs after the restart.
  EXPECT_TRUE(dead.pauses_after_tracking == 0 || caught_up > 0)
      << "no tick that fell while no child was alive ran after a restart";
  // A long pause holds more ticks than a start catches up: the older ones are skipped.
  EXPECT_TRUE(dead.long_pauses_after_tracking == 0 || verdict.summary.cron_ticks_skipped > 0)
      << "no CronCursor skipped the ticks of a pause longer than kCronCatchUpMax ticks";
  // The ticker kept ticking while the engine worked: its last tick is at most a few ticks before
  // the last activity the log shows (a run created, a sleep ending). Not the final exit: shutdown
  // stops the timers first and then writes its snapshot, which took 7.5 s of real time (15 ticks)
  // for a 6,000-run workload on this machine. One tick is in flight at a time; a late timer is a
  // hang.
  int64_t last_activity_ms = 0;
  for (const auto& [id, r] : facts->runs) {
    if (!r.cron_expression.empty()) continue;
    last_activity_ms = std::max(last_activity_ms, r.created_us / 1000);
    if (r.cancellations != 0) continue;  // its sleep may have been cut short
    for (const OpFact& s : r.sleeps) last_activity_ms = std::max(last_activity_ms, s.wake_at_ms);
  }
  EXPECT_LE(last_activity_ms, final_exit_ms);
  EXPECT_GE(verdict.summary.cron_last_tick_ms, last_activity_ms - 3 * kTickMs)
      << "the cron trigger stopped firing "
      << (last_activity_ms - verdict.summary.cron_last_tick_ms)
      << " ms (engine clock) before the last activity in the log";
  EXPECT_TRUE(rounds == 0 || totals.kills + totals.stops + totals.kills_during_shutdown > 0)
      << "the child finished before the first kill: raise CAIRN_ENGINE_CRASH_RUNS";
}

}  // namespace
}  // namespace cairn::engine_crash
