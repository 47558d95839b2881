// The crash test's verdict: after the last incarnation, the log (LogFacts) and the child's
// journal are compared with the workload's specification.
//   (a) every acknowledged event is in the log, with the runs send() reported;
//   (b) every run that should exist was created once and finished once, as planned (completed, or
//       failed for the runs whose plan dooms them, each with one run of its failure handler); no
//       other run exists;
//   (c) every run's output, and every step's recorded value, is the one recomputed from the run's
//       input (and the log's verdict on its wait: the approval event or the timeout, whichever
//       the log has first);
//   (d) no step ran again after its completion (or a failed attempt's failure) was durable: the
//       nonce in a StepCompleted's output names the execution that produced it, and no journaled
//       execution of that step comes after it; earlier ones are failed attempts or were lost
//       with an earlier incarnation;
//   (e) at most one StepCompleted per (run, position), one StepFailed per attempt, one
//       SleepStarted or WaitStarted per position, and attempts numbered as the retries planned;
//   (f) nothing moved past an undurable record: every step body ran after the executions that
//       produced the durable completions of the run's earlier steps (and the durable failure of
//       its own previous attempt), never before them;
//   (g) flow control held across the kills (flow_checks.cc): every flow event of every burst is
//       in the log once and started its one run; every run of "metered" (rate limit) ended once,
//       completed or skipped, and every run of "paced" (throttle) completed (none skipped, failed
//       or lost); a run has at most one RunAdmitted (a restart never admits a run twice), a
//       completed one exactly one, with its function's limit and the key its event gives, before
//       any other record of the run; no other function's run has one; and per key, the
//       RunAdmitted times never put more than the limit's bound into any window [t, t + period)
//       (sliding, exact: `limit` for the rate limit, limit + burst - 1 for the throttle);
//   (h) cron triggers held across the kills (cron_checks.cc): per trigger, in log order, tracking
//       begins with a CronCursor, then each tick's run is for exactly the next tick after the
//       cursor and each later CronCursor skips exactly the ticks it counts: so no tick has two
//       runs, and from where tracking began to the last tick recorded every tick (every minute)
//       has one run or was recorded as skipped; each tick's run ran its one step and completed
//       once (the newest may be unfinished: it can be created after the final incarnation saw
//       every run finished and began to shut down);
//   (i) timeouts held across the kills (timeout_checks.cc): every "late" and "queued" event
//       started its one run, which ended exactly once, completed or cancelled by its own
//       timeout: a finish-timeout cancel ("finish timeout: ...") comes at or after RunAdmitted's
//       started_ms + the timeout, a run that slept past that deadline was cancelled, a
//       start-timeout cancel ("start timeout: ...") only for a run with no RunAdmitted before its
//       StartTimedOut record, at or after its creation + the timeout; no step of a run is
//       recorded after its RunCancelled; each has at most one RunAdmitted (with no flow-control
//       key), before its first step;
//   (j) debounce held across the kills (debounce_checks.cc): per key, walking its events in log
//       order with their creation times, a run completes iff no later event of its key was
//       created before its deadline (creation + period, or the sequence's first event + timeout
//       if sooner; or its own DebounceDue came first in the log), with one RunAdmitted at or
//       after the deadline and one step that saw its own event; every other run ends once,
//       skipped, "debounce: replaced by run N" naming the next run of its key;
//   (k) batching held across the kills (batch_checks.cc): per key, in log order, the events
//       partition into batches (from an event, the following ones while fewer than kBatchMax and
//       created before its first + the timeout, or its BatchDue); each batch's first run
//       completes once, admitted no earlier than its batch closed, its step's recorded output
//       listing exactly its batch's events in order; every other run ends skipped "batched into
//       run <first>"; and every batch event is delivered to exactly one run over the whole test.
//   (l) idempotency held across the kills (idempotency_checks.cc): per key of "once", walking its
//       runs in log order, a run starts (one RunAdmitted, completes once) only if no run started
//       the key within the window before it (at its RunAdmitted's time), and then holds the key;
//       every other run ends skipped once, "idempotency key "i3" already started run N within
//       ... ms" naming the run that holds it, and runs nothing;
//   (m) singleton kSkip held across the kills (singleton_checks.cc): per key of "solo", each
//       RunAdmitted comes after the end of the key's previously admitted run (never two admitted
//       unfinished runs); an admitted run completes once; every other run ends skipped once,
//       "singleton: run N of key "s0" is not finished" naming a run of its key that was admitted
//       and had not ended when the skipped run was created, and some run created before it was;
//   (n) singleton kCancelRunning held across the kills (singleton_checks.cc): every run of
//       "latest" ends once, completed or cancelled "singleton: replaced by run N" (N another run
//       of its key, created before the cancelled one ended); a run another run's RunAdmitted
//       overtook is cancelled (or had only its RunCompleted left to record: see (o)), has at
//       most one step record after that RunAdmitted and none after its RunCancelled;
//   (o) cancel_on held across the kills (cancel_on_checks.cc): a run of "cancellable" whose key
//       a halt event (not a duplicate) names after the run's creation and before its end in the
//       log records at most one more step record or RunCompleted after the halt (the step in
//       flight; or the RunCompleted of a worker that had passed its last step boundary: then it
//       completes), else ends cancelled once, "cancel_on: event halt (id <first such halt>) with
//       the same data.key", nothing of it recorded after its RunCancelled (so a halt accepted
//       before a kill is recorded after the restart); every other run completes; every halt
//       sent is in the log once and starts nothing;
//   (p) priority held across the kills (priority_checks.cc): every run of "ranked" (priority
//       behind a concurrency limit of 1) completes once, its step at its first attempt with the
//       value recomputed; start-order inversions within one send() are only counted.
// (g) to (p) also hold the flow, timed, keyed and guarded events to what the driver sent: each in
// the log once, starting its one run.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine_crash/guard_workload.h"
#include "engine_crash/journal.h"
#include "engine_crash/keyed_workload.h"
#include "engine_crash/log_facts.h"

namespace cairn::engine_crash {

struct CrashSummary {
  uint64_t main_runs = 0;
  uint64_t helper_runs = 0;
  uint64_t listener_runs = 0;
  uint64_t doomed_runs = 0;   // failed as planned
  uint64_t handler_runs = 0;  // main's on_failure runs (one per doomed run)
  uint64_t approved = 0;      // waits that got the approval
  uint64_t timed_out = 0;     // waits that timed out
  uint64_t sleeps = 0;
  uint64_t executions = 0;  // step bodies run, over all incarnations
  uint64_t failed_attempts = 0;
  uint64_t lost_executions = 0;  // succeeded, but an earlier incarnation died before it was durable
  uint64_t acknowledged_sends = 0;
  uint64_t incarnations = 0;
  uint64_t starts_interrupted = 0;  // incarnations that ended inside engine.start()
  uint64_t runs_resumed = 0;        // summed over every recovery
  uint64_t recovery_us_max = 0;
  size_t cut_journal_lines = 0;
  // Flow control (g).
  uint64_t flow_events = 0;
  uint64_t metered_runs = 0;
  uint64_t metered_skipped = 0;
  uint64_t paced_runs = 0;
  uint64_t paced_delayed = 0;         // paced runs that waited for a ThrottleDue timer
  uint64_t throttle_due_records = 0;  // RunResumed{ThrottleDue}
  // The most admissions of one key found in one window of the limit's period: the bound is
  // reached (so the workload presses on the limits), never passed.
  uint32_t metered_busiest_window = 0;
  uint32_t paced_busiest_window = 0;
  // Paced runs admitted strictly before a run of the same key created earlier. The throttle
  // promises arrival order per key, but a kill between a decision and its RunAdmitted lets the
  // run be decided again later, so the crash test only counts them; the checks' unit test,
  // whose child is never killed, expects none.
  uint64_t paced_out_of_order = 0;
  // Cron (h).
  uint64_t cron_runs = 0;
  uint64_t cron_cursors = 0;
  uint64_t cron_ticks_skipped = 0;      // summed over the CronCursors
  uint64_t cron_unfinished_at_end = 0;  // 0 or 1: the newest tick's run
  int64_t cron_last_tick_ms = 0;
  // Timeouts (i).
  uint64_t late_runs = 0;
  uint64_t late_slept_past = 0;  // slept past the finish deadline (all must be cancelled)
  uint64_t late_cancelled = 0;
  uint64_t queued_runs = 0;
  uint64_t queued_cancelled = 0;
  // Steps that ran in a killed incarnation, never recorded, of runs cancelled after the restart.
  uint64_t cancelled_lost_executions = 0;
  // Debounce (j).
  uint64_t debounce_events = 0;
  uint64_t debounce_completed = 0;
  uint64_t debounce_cut_by_timeout = 0;  // completed at the sequence's timeout, not its quiet
  uint64_t debounce_replaced = 0;
  uint64_t debounce_replaced_across_sends = 0;  // by an event of a later send(), not its own
  // Events created before a waiting run's deadline but logged after its DebounceDue (which lets
  // the run start): apply decides in log order, so they begin a new sequence.
  uint64_t debounce_due_first = 0;
  // Batching (k).
  uint64_t batch_events = 0;
  uint64_t batches = 0;
  uint64_t batches_full = 0;  // closed at kBatchMax events (the others at their timeout)
  uint64_t batch_joined = 0;  // runs skipped into another's batch
  uint64_t batch_joined_across_sends = 0;
  uint64_t batch_due_first = 0;  // as debounce_due_first, for BatchDue
  // Idempotency (l).
  uint64_t once_events = 0;
  uint64_t once_keys = 0;
  uint64_t once_started = 0;
  uint64_t once_skipped = 0;
  uint64_t once_skipped_across_sends = 0;  // the key's run came from another send()
  // Singleton kSkip (m).
  uint64_t solo_runs = 0;
  uint64_t solo_completed = 0;
  uint64_t solo_skipped = 0;
  uint64_t solo_skipped_across_sends = 0;
  // Singleton kCancelRunning (n).
  uint64_t latest_runs = 0;
  uint64_t latest_completed = 0;
  uint64_t latest_replaced = 0;
  uint64_t latest_replaced_across_sends = 0;
  // Replaced by a run created before them: a run whose decision a kill lost is decided again at
  // the restart, after the newer run its key had admitted, and replaces it.
  uint64_t latest_replaced_by_older = 0;
  uint64_t latest_overlap_steps = 0;  // step records of replaced runs after the replacement's
                                      // RunAdmitted (at most one each)
  // Overtaken by a replacement's RunAdmitted after their last step's record, before their
  // RunCompleted: they completed (their worker had passed the last step boundary).
  uint64_t latest_completed_at_replacement = 0;
  // cancel_on (o).
  uint64_t halt_events = 0;
  uint64_t cancellable_runs = 0;
  uint64_t cancellable_cancelled = 0;
  uint64_t cancellable_cancelled_holding = 0;  // the halt came while it slept or waited
  uint64_t cancellable_halted_after_end = 0;   // a halt after its end: it completed
  uint64_t cancellable_early_halts = 0;        // halts before its creation: ignored
  // Halted between their last step's record and their RunCompleted: they completed.
  uint64_t cancellable_completed_at_halt = 0;
  // Priority (p).
  uint64_t ranked_runs = 0;
  uint64_t ranked_pairs = 0;       // pairs of runs of one send() whose start order is compared
  uint64_t ranked_inversions = 0;  // of those, started against their priority
  std::string to_string() const;
};

struct CrashVerdict {
  std::vector<std::string> violations;
  CrashSummary summary;
};

// `time_scale`: the child's engine-clock milliseconds per real millisecond (kClockSpeed with its
// FastClock): the flow limits' periods were scaled by it.
CrashVerdict check_crash_outcome(const LogFacts& log, const Journal& journal, uint64_t seed,
                                 uint64_t target_runs, uint32_t time_scale = 1);

// Split out of check_crash_outcome: checks (d) and (f) alone (execution_checks.cc).
void check_executions(const LogFacts& log, const Journal& journal, CrashVerdict* verdict);

// Split out of check_crash_outcome: check (g) alone (flow_checks.cc).
void check_flow_control(const LogFacts& log, uint64_t seed, uint64_t target_runs,
                        uint32_t time_scale, CrashVerdict* verdict);

// Split out of check_crash_outcome: checks (h) and (i) alone (cron_checks.cc, timeout_checks.cc).
void check_cron(const LogFacts& log, CrashVerdict* verdict);
void check_timeouts(const LogFacts& log, uint64_t target_runs, CrashVerdict* verdict);

// Split out of check_crash_outcome: checks (j) and (k) alone (debounce_checks.cc,
// batch_checks.cc), against the bursts the driver sent (keyed_bursts_of).
void check_debounce(const LogFacts& log, const std::vector<KeyedBurst>& bursts,
                    CrashVerdict* verdict);
void check_batching(const LogFacts& log, const std::vector<KeyedBurst>& bursts,
                    CrashVerdict* verdict);

// Split out of check_crash_outcome: checks (l) to (p) alone (idempotency_checks.cc,
// singleton_checks.cc, cancel_on_checks.cc, priority_checks.cc), against the bursts the driver
// sent (guard_bursts_of, of the kind each checks; cancel_on also derives the halts from `seed`).
void check_idempotency(const LogFacts& log, uint64_t seed, const std::vector<GuardBurst>& bursts,
                       CrashVerdict* verdict);
void check_singleton_skip(const LogFacts& log, uint64_t seed, const std::vector<GuardBurst>& bursts,
                          CrashVerdict* verdict);
void check_singleton_cancel(const LogFacts& log, uint64_t seed,
                            const std::vector<GuardBurst>& bursts, CrashVerdict* verdict);
void check_cancel_on(const LogFacts& log, uint64_t seed, const std::vector<GuardBurst>& bursts,
                     CrashVerdict* verdict);
void check_priority(const LogFacts& log, uint64_t seed, const std::vector<GuardBurst>& bursts,
                    CrashVerdict* verdict);

// How many ticks' runs are for a tick inside one of `intervals` ([from, to] in engine-clock ms):
// the crash test passes the spans in which no child was alive, so each of these ran after a
// restart (check (d) of the cron part: catch-up is exercised).
uint64_t cron_ticks_within(const LogFacts& log,
                           const std::vector<std::pair<int64_t, int64_t>>& intervals);

}  // namespace cairn::engine_crash
