// What the debounce and batching checks (debounce_checks.cc, batch_checks.cc) share: the keyed
// functions' events against the bursts the driver sent, and each key's timeline — the runs its
// events created and the RunResumed{DebounceDue|BatchDue} of those runs, in log order — which the
// checks walk the way the engine's apply does, so what they expect follows from the log alone.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine_crash/crash_checks.h"
#include "engine_crash/keyed_workload.h"
#include "engine_crash/log_facts.h"

namespace cairn::engine_crash {

// One record of a key: an event's run was created, or a timer of one of the key's runs fired.
struct KeyedItem {
  uint64_t lsn = 0;
  size_t order = 0;  // within the log: the events of one EventBatch share its LSN
  const RunFacts* run = nullptr;
  bool due = false;        // RunResumed{DebounceDue|BatchDue} of `run`; else its creation
  int64_t created_ms = 0;  // the run's creation, floored to the millisecond as the engine does
};

// The key (data.key; "" without one) of every run of the kind's function, and its timeline.
std::map<std::string, std::vector<KeyedItem>> keyed_timelines(const LogFacts& log, KeyedKind kind);

// Every event of `bursts` is in the log once, as sent, and started one run of its function; no
// other event of the kind is. Only a log with such events at all is held to the whole list (the
// power-cut rounds run without them). Returns how many events of the kind the log has.
uint64_t check_keyed_events(const LogFacts& log, KeyedKind kind,
                            const std::vector<KeyedBurst>& bursts, CrashVerdict* verdict);

std::string keyed_run_name(const RunFacts& r);
// "has 1 RunCompleted, ... records" when the run does not have exactly one end, which must be
// `completed` (else RunSkipped); empty when it has.
std::string keyed_end_problem(const RunFacts& r, bool completed);

}  // namespace cairn::engine_crash
