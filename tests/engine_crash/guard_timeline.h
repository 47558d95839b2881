// What the guarded functions' checks (idempotency_checks.cc, singleton_checks.cc,
// cancel_on_checks.cc, priority_checks.cc) share: their events against the bursts the driver
// sent, each run's key and place in the log, and the shape of a run that completed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine_crash/crash_checks.h"
#include "engine_crash/guard_workload.h"
#include "engine_crash/log_facts.h"

namespace cairn::engine_crash {

// Where a record is in the log: its LSN, then (for the events of one EventBatch, which share
// it) its place among them.
struct LogPlace {
  uint64_t lsn = 0;
  size_t order = 0;
  auto operator<=>(const LogPlace&) const = default;
};

// A run of a guarded kind, with where its event is in the log.
struct GuardRun {
  const RunFacts* run = nullptr;
  LogPlace created;
  std::string key;  // data.key ("" for none)
  uint64_t g = 0;
  uint32_t j = 0;
};

// Every run of the kind's function created by an event, in log order, by key (data.key; "" for
// "ranked"). A run of the function without such an event is reported.
std::map<std::string, std::vector<GuardRun>> guard_runs_by_key(const LogFacts& log, GuardKind kind,
                                                               CrashVerdict* verdict);

// Every event of `bursts` is in the log once, as sent, and started one run of its function; no
// other event of the kind is. Only a log with such events at all is held to the whole list (the
// power-cut rounds run without them). Returns how many events of the kind the log has.
uint64_t check_guard_events(const LogFacts& log, uint64_t seed, GuardKind kind,
                            const std::vector<GuardBurst>& bursts, CrashVerdict* verdict);

std::string guard_run_name(const RunFacts& r);
// "has 1 RunCompleted, ... records; exactly one <expected> was expected" when the run does not
// have exactly one end, of the kind named ("RunCompleted", "RunSkipped", "RunCancelled"); empty
// when it has.
std::string guard_end_problem(const RunFacts& r, std::string_view expected);
// How many of the run's step records come after `lsn`.
uint32_t guard_steps_after(const RunFacts& r, uint64_t lsn);
// How many records its worker wrote after `lsn` to carry the run on: step records and
// RunCompleted (RunResumed is the timer thread's, RunCancelled is the stop). A request to stop
// that apply sees at `lsn` lets at most one through: the step in flight (or, at the last step
// boundary, the RunCompleted of a worker that checked just before the request was applied).
uint32_t guard_went_on_after(const RunFacts& r, uint64_t lsn);

// A run that ran to its end: one StepCompleted per step of its kind, at its first attempt, with
// the value recomputed; no failures; its output. `admitted`: its function records RunAdmitted,
// exactly one, with no limit key, before its first step.
void check_guard_completed(const GuardRun& g, GuardKind kind, bool admitted, CrashVerdict* verdict);
// A run that stopped early (cancelled): what steps it recorded have the recomputed values, at
// most one StepCompleted each, and none comes after its RunCancelled.
void check_guard_cut_short(const GuardRun& g, GuardKind kind, CrashVerdict* verdict);

}  // namespace cairn::engine_crash
