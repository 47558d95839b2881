// Executor: what a worker does with a run it owns. It starts the run's coroutine, resumes it when
// the operation it waits for is resolved, runs step bodies (first attempts and retries), appends
// the records those produce, and appends the run's final record when the coroutine ends. It also
// implements the awaiter protocol (op_ready / op_suspend / op_resume in cairn/context.h): how an
// operation is matched against the run's recorded history and what record it starts.
#pragma once

#include <cstdint>
#include <string>

#include "cairn/log/log.h"
#include "cairn/schema/record_schema.h"
#include "record_builder.h"
#include "run_state.h"

namespace cairn::detail {

class EngineCore;

class Executor {
 public:
  explicit Executor(EngineCore& core) : core_(core) {}
  // The log the executor records into (set once the engine's log is open, before runs start).
  void set_log(log::Log* log) { log_ = log; }

  // Called by the worker that owns `run` (see Scheduler). Returns when the run is parked, freed,
  // or the engine is stopping.
  void drive(RunState& run);
  // Frees a run the engine no longer needs (finished, or at shutdown).
  static void destroy(RunState* run);
  // A stopping worker lets go of a run it owns.
  static void abandon(RunState& run);

  bool op_ready(RunState& run, OpSlot& slot);
  void op_suspend(RunState& run, OpSlot& slot);
  void op_resume(RunState& run, OpSlot& slot);

 private:
  enum class Next : uint8_t { kNothing, kResume, kRetry };
  Next next_action(RunState& run);
  void start(RunState& run);
  void finish(RunState& run);
  void run_step(RunState& run, OpSlot& slot, uint32_t attempt);
  void start_wait(RunState& run, OpSlot& slot);
  // Attempt `attempt` (1 first) to send the slot's event: an EventAccepted, or, when there is no
  // room for its runs or its id for now, a StepFailed of kind NoRoom whose retry tries again.
  void start_send(RunState& run, OpSlot& slot, uint32_t attempt);
  void start_invoke(RunState& run, OpSlot& slot);
  // Appends the StepFailed of `attempt` at `slot` (a step's, or a send's that found no room):
  // `error` cut so that it and `suffix` (which try it was) fit error_bytes_max.
  void record_failed_attempt(RunState& run, const OpSlot& slot, uint32_t attempt,
                             schema::FailureKind kind, std::string_view error,
                             std::string_view suffix, int64_t retry_at, AttemptTimes times,
                             std::string_view what);
  void fail_run(RunState& run, std::string error);
  // Whether the run's next position holds this very operation (as replay matches it) in its
  // history or as its pending operation: it passed the checks when it was recorded, so options
  // changed since (a limit lowered, a function unregistered) do not refuse it and make the replay
  // diverge.
  static bool recorded_next(RunState& run, const OpSlot& slot);
  // Appends RunFailed (and starts its on_failure handler) for a run that ends with `text`.
  void append_failure(RunState& run, std::string text);
  // Flow control before the run executes anything: records an admission, a skip, a failure or
  // a cancellation it was asked for. True when the run may go on executing.
  bool act_on_flow(RunState& run);
  // The stop it was asked for (cancel_on, a timeout, a singleton, Engine::cancel): appends
  // RunCancelled once; nothing more of the run executes.
  void record_cancelled(RunState& run);
  // Appends a record of `run`'s. A record the log refuses for its size fails the run with `what`
  // and the reason; false when nothing was appended.
  bool record(RunState& run, schema::RecordType type, Bytes payload, std::string_view what);
  // Appends without waiting for durability: the run learns the outcome from apply. An error
  // means the log refused the record (its size) or has failed.
  Status append(schema::RecordType type, Bytes payload);
  uint32_t retries_for(const RunState& run, const OpSlot& slot) const;
  int64_t backoff_ms(const RunState& run, uint32_t attempt) const;

  EngineCore& core_;
  log::Log* log_ = nullptr;
};

}  // namespace cairn::detail
