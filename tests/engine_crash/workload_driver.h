// WorkloadDriver: one incarnation of the crash workload. It starts an engine (recovering whatever
// the previous incarnation left), keeps about a dozen runs of "main" going by sending "job"
// events start-1 .. start-TARGET_RUNS (ids the engine deduplicates, so an event whose
// acknowledgement was lost is not run twice), sends the flow bursts (workload.h) in step with the
// jobs, approves waiting runs whose plan says so, and returns once every run has finished, once
// it is asked to stop, or once the engine fails. Every acknowledged send and every step execution
// goes to the side journal (journal.h).
//
// Two users: engine_crash_child (a process the crash test kills with SIGKILL or stops with
// SIGTERM) and the engine's power-cut rounds (in process, on a SimDisk whose power fails).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "cairn/engine.h"
#include "engine_crash/crash_functions.h"
#include "engine_crash/journal.h"

namespace cairn::engine_crash {

struct DriverConfig {
  EngineOptions engine;
  std::filesystem::path journal;
  uint64_t incarnation = 0;
  uint64_t target_runs = 0;
  uint64_t seed = 0;
  // Engine-clock milliseconds per real millisecond (StepRunner::scaled): kClockSpeed on the
  // child's FastClock.
  uint32_t time_scale = 1;
  // Also run the timed functions (timed_workload.h: cron, timeouts), the keyed waiting ones
  // (keyed_workload.h: debounce, batching) and the guarded ones (guard_workload.h: idempotency,
  // singleton, cancel_on, priority) and send their events. Only on the child's FastClock
  // (engine.clock), whose minutes pass in half a second.
  bool timed_functions = false;
};

struct DriverResult {
  enum class Outcome : uint8_t {
    kFinished,       // every run finished; the engine was shut down
    kStopped,        // should_stop() said so; the engine was shut down with runs in flight
    kNoStart,        // register_function or start() failed (`error` says how)
    kEngineFailed,   // an engine call failed afterwards (`error`): expected only after a cut
    kAcceptedTwice,  // an event acknowledged before was accepted again (`error`)
  };
  Outcome outcome = Outcome::kFinished;
  std::string error;
};

class WorkloadDriver {
 public:
  WorkloadDriver(DriverConfig config, JournalWriter& journal);
  ~WorkloadDriver();
  WorkloadDriver(const WorkloadDriver&) = delete;
  WorkloadDriver& operator=(const WorkloadDriver&) = delete;

  // Runs the incarnation. `should_stop` is polled about every millisecond.
  DriverResult run(const std::function<bool()>& should_stop);

 private:
  void learn_from_journal();
  // These two return a result only when the incarnation must end there.
  std::optional<DriverResult> start_engine();
  std::optional<DriverResult> resend_acknowledged();
  Status start_run(uint64_t k);
  // Sends the bursts due once jobs 1..k-1 have gone out (all of them once k is past the last).
  Status send_flow_bursts(uint64_t k);
  // Sends the "late" events and "queued" bursts due once jobs 1..k-1 have gone out.
  Status send_timed_events(uint64_t k);
  // Sends the "debounce" and "batch" bursts (keyed_workload.h) due once jobs 1..k-1 have gone out.
  Status send_keyed_events(uint64_t k);
  // Sends the guarded functions' bursts and halts (guard_workload.h) due once jobs 1..k-1 have
  // gone out.
  Status send_guard_events(uint64_t k);
  // One send() of `events` but those acknowledged before (timed_acknowledged_).
  Status send_unacknowledged(std::vector<Event> events);
  bool timed_events_sent() const;
  // Unfinished runs but those of the flow-controlled and timed functions: a throttled backlog or
  // a queue behind a concurrency limit must not hold back the jobs (the test's pace is the jobs').
  uint64_t runs_active_but_flow() const;
  Status approve_waiting_runs();
  bool all_finished() const;
  void print_unfinished(uint64_t next_k) const;

  DriverConfig config_;
  JournalWriter& journal_;
  StepRunner runner_;
  std::unique_ptr<Engine> engine_;
  std::set<uint64_t> acknowledged_;          // k of start events acknowledged before
  std::set<std::string> flow_acknowledged_;  // ids of flow events acknowledged before
  uint64_t next_burst_ = 1;
  // Ids of "late", "queued", "debounce", "batch" and the guarded functions' events, the same.
  std::set<std::string> timed_acknowledged_;
  uint64_t next_late_ = 1;
  uint64_t next_queued_ = 1;
  uint64_t next_keyed_ = 1;  // the next burst of both keyed kinds
  uint64_t next_guard_ = 1;  // the next burst of every guarded kind (guard_bursts() + 1: halts)
  std::unordered_map<RunId, uint64_t> k_of_run_;  // main runs whose k this incarnation knows
  std::unordered_map<RunId, std::chrono::steady_clock::time_point> approval_sent_at_;
  uint64_t approvals_ = 0;
};

}  // namespace cairn::engine_crash
