// One power-cut round of the engine: the crash test's workload (engine_crash/workload.h: steps
// with retries, sleeps, waits that are approved or time out, invoke, send_event, runs that fail
// and their on_failure handlers, rate-limited and throttled bursts; and what
// DriverConfig::timed_functions adds: timed_workload.h's every-minute cron trigger, finish and
// start timeouts, keyed_workload.h's debounce and batching, guard_workload.h's guarded functions)
// runs in process on a SimDisk, incarnation after incarnation; the power fails at a seeded
// operation of each — half the time in its first few dozen (recovery, where the cron catch-up and
// the timers that fell due while the power was off write their records, and the first sends),
// else anywhere up to a few thousand operations in (steps recorded, timed and keyed events sent,
// timers firing, snapshots written), sometimes right after a write completed with another in
// flight — and the next incarnation starts on what survived. A last incarnation runs every run to
// its end. Then the log and the side journal must show what the SIGKILL crash test demands
// (engine_crash/crash_checks.h): every acknowledged event durable, every run finished exactly
// once with the output recomputed from its input, no step run again once its completion was
// durable, flow control, cron ticks, timeouts, debounce and batches held; and the cron trigger
// kept firing up to the last activity in the log.
//
// The engine runs on the crash test's FastClock (engine_crash/fast_clock.h: kClockSpeed times
// real time, a cron minute every half second), one for the whole round: every incarnation's
// clock continues where the last one's stopped, and after two cuts in three the time the power
// stays off goes on too — the clock is moved forward by a seeded pause (0.05..1.55 ticks, or more
// than kCronCatchUpMax + 1 ticks) instead of the crash test's real sleep, which costs nothing
// here since no engine runs meanwhile: ticks fall while the power is off and the next start()
// catches them up or skips them, and timeouts, debounce periods and batch timeouts expire while
// it is off.
//
// After every cut, and after the last incarnation, an engine that loads the image's newest
// snapshot and replays the log after it must reach the state of one that replays the whole log
// (both started without functions, so nothing runs: the state compared includes the cron
// cursors, but not the flow state of runs — admission, debounce, batch — which the engine keeps
// only for runs of registered functions; the checks of the last incarnation's log cover that).
#pragma once

#include <cstdint>
#include <string>

namespace cairn::testing {

struct EngineCutConfig {
  uint64_t seed = 0;
  uint32_t incarnations = 6;         // cut ones; one more runs to the end
  uint64_t target_runs = 80;         // runs of "main"
  uint64_t cut_ops_max = 30;         // half the cuts fall in an incarnation's first operations
  uint64_t late_cut_ops_max = 2000;  // the others up to this many, log-uniformly
};

// What the round's timed and keyed functions did (from the crash checks' summary), so a test can
// tell that the paths ran under the cuts.
struct EngineCutTimed {
  uint64_t cron_runs = 0;
  uint64_t cron_ticks_skipped = 0;  // summed over the CronCursors (ticks of long pauses)
  uint64_t cron_caught_up = 0;      // tick runs for a tick that fell while the power was off
  uint64_t pauses = 0;              // cuts after which the clock moved on while the power was off
  uint64_t long_pauses = 0;         // those longer than kCronCatchUpMax + 1 ticks
  uint64_t late_cancelled = 0;      // finish timeouts
  uint64_t queued_cancelled = 0;    // start timeouts
  uint64_t debounce_completed = 0;
  uint64_t debounce_replaced = 0;
  uint64_t debounce_replaced_across_sends = 0;
  uint64_t batches = 0;
  uint64_t batches_full = 0;
  uint64_t batch_joined = 0;
  uint64_t batch_joined_across_sends = 0;
  // In the incarnations the power cut (not the last): step executions of these functions (cron
  // ticks, timeouts, debounce, batching) and their events ("late", "queued", "debounce",
  // "batch") acknowledged.
  uint64_t timed_steps_cut = 0;
  uint64_t timed_sends_cut = 0;
  void add(const EngineCutTimed& o);
  std::string to_string() const;
};

struct EngineCutResult {
  std::string failure;  // empty when every check held
  std::string summary;  // the crash checks' summary line
  uint64_t cuts = 0;
  uint64_t cuts_during_start = 0;
  // Disk images (after a cut, and the last one) on which a snapshot was there to load, and the
  // state from it matched a full replay.
  uint64_t snapshot_loads = 0;
  EngineCutTimed timed;
};

EngineCutResult run_engine_cut_round(const EngineCutConfig& config);

}  // namespace cairn::testing
