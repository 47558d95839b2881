// Projection: run state as a function of the log. apply(record) is the one code path that turns
// records into state, live (called with each durable batch, on the log's writer thread, in LSN
// order) and during recovery (called for every record from the start of the log). The only
// difference between the two: live apply also has effects — it makes runs runnable and arms
// timers — while recovery records each run's history and leaves the effects to finish_replay().
//
// Because apply sees records in log order, races are decided by the log: an event resolves the
// waits registered before it, a timeout record resolves a wait only if no event did first.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <shared_mutex>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "admission_table.h"
#include "cairn/clock.h"
#include "cairn/engine.h"
#include "cairn/log/types.h"
#include "cairn/schema/record_schema.h"
#include "dedup_window.h"
#include "finished_runs.h"
#include "frozen_runs.h"
#include "function_registry.h"
#include "keyed_waiting_runs.h"
#include "retention_floor.h"
#include "run_state.h"
#include "run_table.h"
#include "snapshot_file.h"
#include "wait_index.h"

namespace cairn::detail {

// What live apply asks the rest of the engine to do.
class ProjectionEffects {
 public:
  virtual void make_runnable(RunRecord& run) = 0;  // notify its owner, or queue it
  virtual void arm_timer(RunId run, uint32_t position, schema::ResumeReason reason,
                         int64_t deadline_ms) = 0;
  virtual void cancel_timer(RunId run) = 0;
  // `created_lsn` and `finished_lsn`: where the run's records begin and end in the log. `live`:
  // the run finished now (not in a past incarnation, found by recovery).
  virtual void run_finished(const RunInfo& info, uint64_t created_lsn, uint64_t finished_lsn,
                            bool live) = 0;
  // The run's last record is applied: free it now if no worker owns it, else let the owner.
  virtual void release_finished(RunRecord& run) = 0;
  // Flow control. wake: the run must act now, whatever its concurrency slot (it is cancelled or
  // skipped); slot_released: it sleeps, waits or finished; leave_gate: it finished or is being
  // cancelled (out of its concurrency queue, slot given back).
  virtual void wake(RunRecord& run) = 0;
  virtual void slot_released(RunRecord& run) = 0;
  virtual void leave_gate(RunRecord& run) = 0;
  // A cron trigger's cursor moved to `tick_ms` (a tick's run, or a CronCursor record): the next
  // tick after it is due.
  virtual void cron_applied(std::string_view function_id, std::string_view expression,
                            int64_t tick_ms) = 0;

 protected:
  ~ProjectionEffects() = default;
};

struct ProjectionCounters {
  std::atomic<uint64_t> steps_completed{0};
  std::atomic<uint64_t> step_failures{0};
  std::atomic<uint64_t> sends_deferred{0};
  std::atomic<uint64_t> runs_created{0};
  std::atomic<uint64_t> runs_finished{0};
  std::atomic<uint64_t> events{0};
  std::atomic<uint64_t> cron_ticks_skipped{0};  // applied live (not counted again by replay)
};

// One function's unfinished runs by status (indexed by RunStatus, kQueued..kWaiting). Written by
// apply only (Projection::set_status), read by any thread.
struct FunctionCounts {
  static constexpr size_t kStatuses = static_cast<size_t>(RunStatus::kWaiting) + 1;
  std::atomic<uint64_t> by_status[kStatuses]{};
};

// One run's part of Projection::describe(): every durable fact a snapshot keeps of it.
std::string describe_run(const RunRecord& run);

// What a projection's runs are: the engine's own projection executes them (RunState); the
// snapshotter's only records them (RunRecord), which is all a snapshot needs.
enum class ProjectedRuns : uint8_t { kExecutable, kRecordsOnly };

class Projection {
 public:
  Projection(EngineCore& core, const EngineOptions& options, const FunctionRegistry& registry,
             DedupWindow& dedup, ProjectionEffects& effects, const Clock& clock,
             ProjectedRuns runs);
  ~Projection();  // frees the runs it still holds

  void apply(log::Lsn lsn, log::RecordType type, std::span<const std::byte> payload, bool live);

  // After recovery: every unfinished run of a known function is made runnable (it replays its
  // history and continues), and every pending sleep, timeout and retry gets its timer.
  // Returns the number of runs resumed; `unknown` gets those whose function is not registered.
  uint64_t finish_replay(uint64_t* unknown);

  // Queries, from any thread.
  std::optional<RunInfo> info(RunId id) const;
  // The newest unfinished runs that match `q`, at most q.limit + 1 (newest first).
  std::vector<RunInfo> page(const RunQuery& q) const;
  // Where the run's records begin, if it is unfinished.
  std::optional<uint64_t> created_lsn(RunId id) const;
  uint64_t active_runs() const { return active_.load(std::memory_order_relaxed); }
  RunId max_run_id() const { return max_run_id_; }
  const ProjectionCounters& counters() const { return counters_; }
  // Each function with runs seen (function id, unfinished runs by status); O(functions).
  std::vector<std::pair<std::string, std::array<uint64_t, FunctionCounts::kStatuses>>>
  function_counts() const;
  uint64_t waiting_for_events() const { return waiting_.load(std::memory_order_relaxed); }
  // Runs packed away (FrozenRuns; the snapshotter's projection only).
  uint64_t frozen_runs() const {
    std::shared_lock lock(table_mu_);
    return frozen_.size();
  }
  // The last tick a cron trigger accounted for; nullopt when none was ever recorded. Read by
  // start() before anything is appended (apply is the only writer).
  std::optional<int64_t> cron_cursor(std::string_view function_id,
                                     std::string_view expression) const;

  // Snapshots (projection_snapshot.cc), of a projection that has only ever applied in replay
  // mode (recovery's, the snapshotter's): live runs keep no history to save. Writes the header,
  // chunks and end frames of the state after every record below `lsn`; `last_frame`: where the
  // record at lsn - 1 is in the log (SnapshotHeader.last_frame_*), or none.
  // `floor`: the snapshotter's retention floor for finished runs, saved in the header.
  Status write_snapshot(SnapshotFileWriter& out, uint64_t lsn, log::FramePosition last_frame,
                        int64_t now_us, const FinishedRuns& finished,
                        const RetentionFloor& floor) const;
  // Loads a checked snapshot into this projection, which has applied nothing yet; `finished`
  // gets the finished runs it kept. Returns the snapshot's LSN (replay goes on from there).
  // kCorruption when its contents contradict themselves (nothing then is usable: the caller
  // starts over with a new projection).
  // `expected_lsn`: the LSN its file name gives (the header must agree). `floor` (when not null)
  // gets the saved retention floor for finished runs.
  Result<uint64_t> load_snapshot(const SnapshotContents& snapshot, FinishedRuns& finished,
                                 uint64_t expected_lsn, RetentionFloor* floor = nullptr);
  // Canonical text of the state (see detail::describe_state).
  std::string describe() const;
  // Where the oldest unfinished run began (kNoLsn when none): retention keeps the log from there.
  uint64_t oldest_live_created_lsn() const;

  // Runs still in the table (shutdown frees them).
  std::vector<RunRecord*> take_all();

 private:
  // The run apply works on: a frozen one (the snapshotter's) is unpacked back into the table.
  RunRecord* find(RunId id);
  // The snapshotter's projection packs a run that was just parked (a sleep, a wait, an invoke, a
  // retry) to save memory, if FrozenRuns::can_freeze; `run` may be gone afterwards. Does nothing
  // in the engine's own projection, which executes its runs.
  void maybe_freeze(RunRecord& run);
  // A copy of the run (unpacked if frozen) for a query, or null.
  std::unique_ptr<RunRecord> peek_frozen(RunId id) const { return frozen_.peek(id, registry_); }
  // A run of the engine's own projection as the executor sees it (checked: only that projection
  // executes, and only its runs are RunStates).
  RunState& executable(RunRecord& run) const;
  // `copied`: the results a replayed run starts with (RunCreated.history), or null.
  // `from_event`: an accepted event started it (only those are debounced).
  RunRecord* create_run(
      RunId id, std::string_view function_id, Event event, RunId parent_run,
      uint32_t parent_position, int64_t created_us,
      const flatbuffers::Vector<flatbuffers::Offset<schema::CopiedOp>>* copied = nullptr,
      bool from_event = false);
  // `output_format` for a completed run; `at_us` when its last record says it ended.
  void finish_run(RunRecord& run, RunStatus status, std::string output, ValueFormat output_format,
                  std::string error, int64_t at_us);
  RunInfo info_of(const RunRecord& run) const;
  // A function's timeouts: arms the run's start or finish timeout (live only), and acts on one
  // that fired (a RunResumed with StartTimedOut or FinishTimedOut).
  void arm_timeout(RunRecord& run);
  void on_timeout(RunRecord& run, schema::ResumeReason reason);
  // A cron trigger's cursor moved (a tick's run was created, or a CronCursor was applied).
  void cron_ticked(std::string_view function_id, std::string_view expression, int64_t tick_ms,
                   uint64_t skipped);
  void on_cron_cursor(const schema::CronCursor& c);
  // Debounce: a run of a debounced function arrives and waits (the key's waiting run is skipped);
  // its quiet period passed (DebounceDue); it stops waiting another way; its timer's deadline.
  void debounce_arrive(RunRecord& run);
  void on_debounce_due(RunRecord& run);
  void stop_debouncing(RunRecord& run);
  int64_t debounce_deadline(const RunRecord& run) const;
  int64_t batch_deadline(const RunRecord& run) const;  // the open batch's timeout
  // Arms the DebounceDue or BatchDue timer of a run that waits for its key (live, or at the end of
  // replay); false when it waits for neither.
  bool arm_wait_timer(RunRecord& run);
  // Batching: a run of a batched function arrives (it opens its key's batch, or joins the open one
  // and is skipped); the batch is full or its timeout passed (BatchDue); the batch closes (its run
  // goes on); its run stops another way.
  void batch_arrive(RunRecord& run);
  void on_batch_due(RunRecord& run);
  void close_batch(RunRecord& run);
  void forget_batch(RunRecord& run);
  // Ends a run that another took the place of (debounce) or the events of (batching): it is to
  // record RunSkipped with `reason`.
  void skip_run(RunRecord& run, std::string reason);
  // The one place a run's status changes: keeps its function's counters in step.
  void set_status(RunRecord& run, RunStatus status,
                  std::memory_order order = std::memory_order_relaxed);
  // Sets the run's operation at `position` resolved, records history while replaying, and in
  // live mode makes the run runnable.
  void resolve(RunRecord& run, uint32_t position, OpKind kind, std::string_view step_id,
               const std::function<void(PendingOp&)>& fill);
  void cancel_wait(RunRecord& run);
  // The one rule for timers: arms the timer that the run's pending operation waits for (a sleep's
  // wake-up, a wait's timeout, a step's retry), if any. Live apply calls it when an operation
  // starts; finish_replay for every run recovered.
  void arm_timer_for(RunRecord& run);

  void on_event_accepted(const schema::EventAccepted& e);
  void on_run_created(const schema::RunCreated& c);
  void on_step_completed(const schema::StepCompleted& s);
  void on_step_failed(const schema::StepFailed& f);
  void on_sleep_started(const schema::SleepStarted& s);
  void on_wait_started(const schema::WaitStarted& w);
  void on_run_resumed(const schema::RunResumed& r);
  void on_run_completed(const schema::RunCompleted& c);
  void on_run_failed(const schema::RunFailed& f);
  void on_run_cancelled(const schema::RunCancelled& c);
  void on_run_admitted(const schema::RunAdmitted& a);
  void on_run_skipped(const schema::RunSkipped& k);

  // Flow control. Sets up a new run's flow facts (keys, cancel_on entries); decides a run whose
  // throttle or rate limit has not let it through yet (live); asks a run to stop (cancel_on, or
  // its parent was cancelled); takes a finishing run out of the cancel_on index.
  void start_flow(RunRecord& run);
  void decide_admission(RunRecord& run);
  void request_cancel(RunRecord& run, std::string reason);
  void forget_cancel_on(RunRecord& run);
  // The first delayed runs of a throttle key that may start now start (in arrival order); the
  // first that may not gets the timer. leave_admission_line: a delayed run ends otherwise.
  void admit_from_line(const FunctionEntry& fn, const RunFlow& flow);
  void leave_admission_line(RunRecord& run);
  void cancel_matching(const Event& event);

  EngineCore& core_;
  const EngineOptions& options_;
  const FunctionRegistry& registry_;
  DedupWindow& dedup_;
  ProjectionEffects& effects_;
  const Clock& clock_;
  const ProjectedRuns runs_kind_;
  bool live_ = false;
  log::Lsn lsn_ = 0;  // of the record being applied

  // Mutated by apply only (one thread); queries read under the shared lock.
  mutable std::shared_mutex table_mu_;
  RunTable runs_;
  FrozenRuns frozen_;  // runs packed away (the snapshotter's only); also under table_mu_
  std::atomic<uint64_t> active_{0};
  std::atomic<uint64_t> waiting_{0};  // runs with a wait in the index
  RunId max_run_id_ = 0;
  WaitIndex waits_;
  std::vector<Waiter> matched_;  // scratch
  // Flow control: throttle and rate-limit state, and runs by their cancel_on values (a Waiter's
  // position is the index of the cancel_on entry).
  AdmissionTable admission_;
  WaitIndex cancel_on_;
  bool any_flow_ = false;  // some function uses flow control (finish_replay then orders runs)
  // Cron cursors: (function id, '\0', expression) -> the last tick accounted for. Ordered, so
  // snapshots and describe() list them the same way every time.
  std::map<std::string, int64_t> cron_cursors_;
  KeyedWaitingRuns debounce_;  // per key: the run waiting for its key to go quiet
  KeyedWaitingRuns batches_;   // per key: the run collecting its key's open batch
  // Interned function ids (runs refer to them) with their counters. Inserted under table_mu_.
  std::unordered_map<std::string, FunctionCounts> functions_;
  ProjectionCounters counters_;
};

}  // namespace cairn::detail
