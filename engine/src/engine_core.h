// EngineCore: the engine's parts and how they connect (docs/architecture.md draws it).
//
//   send() ──append EventAccepted──► Log ──durable batch──► on_durable ──► Projection::apply
//                                                                        │ make_runnable
//   TimerService ◄──arm/cancel────────────────────────────────────────────┤
//        │ RunResumed                                                     ▼
//        └──────────────────────► Log ◄──── Executor (workers) ◄──── Scheduler (ready queue)
//
// The Engine facade forwards to it. Everything that may fail for reasons outside the program is
// a Status; after a log failure every call reports it.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "cairn/engine.h"
#include "cairn/log/log.h"
#include "concurrency_gate.h"
#include "cron_schedule.h"
#include "dedup_window.h"
#include "executor.h"
#include "finished_runs.h"
#include "function_registry.h"
#include "latency_histogram.h"
#include "projection.h"
#include "record_builder.h"
#include "scheduler.h"
#include "snapshotter.h"
#include "timer_service.h"

namespace cairn::detail {

class EngineCore final : public log::DurableListener, public ProjectionEffects {
 public:
  explicit EngineCore(EngineOptions options);
  ~EngineCore();

  Status register_function(FunctionOptions options, ValueFormat output_format, TypedBody body);
  // A start() that fails before the engine runs closes the log again (its lock with it) and
  // refuses any later start(): part of a recovery is in memory.
  Status start();
  Status shutdown();

  Result<std::vector<SendResult>> send(std::span<const Event> events);
  Status cancel(RunId run, const std::string& reason);
  Result<uint64_t> cancel_runs(RunQuery query, const std::string& reason);
  Result<RunId> replay_run(RunId run, bool from_start);
  Result<RunInfo> get_run(RunId run) const;
  RunPage list_runs(const RunQuery& q) const;
  Result<std::vector<cairn::HistoryEntry>> run_history(RunId run,
                                                       const HistoryLimits& limits) const;
  Result<RunInfo> wait_run(RunId run, std::chrono::milliseconds timeout);
  Status health() const;
  EngineStats stats() const;
  std::vector<FunctionStats> function_stats() const;
  void reset_dispatch_latency() { dispatch_latency_.reset(); }
  std::string describe_state() const { return projection_.describe(); }
  const RecoveryStats& recovery() const { return recovery_; }

  // For the executor and the awaiter protocol.
  const EngineOptions& options() const { return options_; }
  Clock& clock() { return *clock_; }
  const FunctionRegistry& registry() const { return registry_; }
  DedupWindow& dedup() { return dedup_; }
  Executor& executor() { return executor_; }
  bool stopping() const { return scheduler_.stopping(); }
  // Appends without waiting for durability: the projection learns the outcome from the log. An
  // error means the log has failed; the engine is stopping.
  Status append(schema::RecordType type, Bytes payload);
  RunId allocate_run_ids(uint32_t n) { return next_run_id_.fetch_add(n); }
  void record_dispatch(int64_t ns) { dispatch_latency_.record(ns); }
  // Validates `event`, names it and stamps its time if needed, reserves its id in the dedup
  // window (or sets *duplicate) and finds the functions it starts (shared by send() and
  // send_event()). The caller checks check_room_for_runs() and erases the id if it then fails.
  Status prepare_event(Event& event, bool* duplicate, std::vector<std::string_view>* functions);
  // kUnavailable when `runs` more unfinished runs would pass runs_active_max.
  Status check_room_for_runs(size_t runs) const;
  // A send() naming more distinct event ids than dedup_ids_max could never be taken, whatever
  // leaves the window: refused at once (kLimitExceeded) rather than asked again for ever.
  Status check_ids_can_fit(std::span<const Event> events) const;

  // log::DurableListener
  void on_durable(const log::DurableBatch& batch) noexcept override;
  void on_log_failed(const Status& status) noexcept override;
  // ProjectionEffects
  void make_runnable(RunRecord& run) override;
  void wake(RunRecord& run) override {
    scheduler_.notify_deferred(static_cast<RunState&>(run));  // its projection executes
  }
  void slot_released(RunRecord& run) override { gate_.release(static_cast<RunState&>(run)); }
  void leave_gate(RunRecord& run) override;
  void arm_timer(RunId run, uint32_t position, schema::ResumeReason reason,
                 int64_t deadline_ms) override;
  void cancel_timer(RunId run) override { timers_.cancel(run); }
  void run_finished(const RunInfo& info, uint64_t created_lsn, uint64_t finished_lsn,
                    bool live) override;
  void release_finished(RunRecord& run) override;
  void cron_applied(std::string_view function_id, std::string_view expression,
                    int64_t tick_ms) override;

 private:
  Status start_once();  // start() without its clean-up on failure
  // After recovery: appends what each cron trigger's cursor needs (its first CronCursor, or the
  // ticks skipped beyond the catch-up limit) or arms its next tick.
  Status start_crons();
  // Trigger i's timer fired: appends the run of its due tick.
  void fire_cron(size_t i);
  Status check_running() const;
  // One EventAccepted, or one EventBatch for several events (all or nothing).
  Result<log::Lsn> append_events(const std::vector<Event>& events,
                                 std::span<const std::string_view> functions,
                                 std::span<const size_t> function_count,
                                 std::span<const char> id_generated, RunId first);
  void fire_timers(const std::vector<TimerEntry>& due);
  Status replay();
  // Loads the newest usable snapshot into the projection (none: replay starts at LSN 0).
  Result<std::optional<SnapshotName>> load_newest_snapshot();
  // Renames a snapshot that cannot describe the log into dir/snapshots/quarantine/ (kept).
  Result<std::string> move_snapshot_aside(const std::string& name);

  EngineOptions options_;
  std::shared_ptr<Clock> clock_;
  FunctionRegistry registry_;
  DedupWindow dedup_;
  FinishedRuns finished_;
  Projection projection_;
  Executor executor_;
  Scheduler scheduler_;
  ConcurrencyGate gate_;  // after scheduler_: it starts runs through it
  TimerService timers_;
  std::unique_ptr<CronSchedule> crons_;  // built at start(), once every function is registered
  std::unique_ptr<log::Log> log_;
  std::shared_ptr<log::FileSystem> fs_;  // the log's
  std::string snapshot_dir_;
  std::optional<SnapshotName> loaded_snapshot_;
  std::shared_ptr<const SnapshotContents> loaded_snapshot_contents_;  // until the snapshotter's
  std::unique_ptr<Snapshotter> snapshotter_;            // after log_: stopped and destroyed first
  std::atomic<Snapshotter*> snapshotter_ptr_{nullptr};  // for the writer thread (on_durable)
  LatencyHistogram dispatch_latency_;
  RecoveryStats recovery_;

  // The end of the last batch the projection was handed (on_durable). The log announces a batch
  // durable only after its listener returns, so a query that reads the log for what the
  // projection already shows (run_history after wait_run) first waits for this end.
  std::atomic<log::Lsn> applied_end_{0};
  std::atomic<RunId> next_run_id_{1};
  std::atomic<uint64_t> event_counter_{0};
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<bool> failed_{false};
  mutable std::mutex failure_mu_;
  Status failure_;
  std::mutex lifecycle_mu_;
  Status start_failure_;  // under lifecycle_mu_: why start() failed, if it did before running
};

}  // namespace cairn::detail
