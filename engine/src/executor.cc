// Executor (see executor.h).
#include "executor.h"

#include <chrono>
#include <random>

#include "cairn/errors.h"
#include "engine_core.h"
#include "json_field.h"

namespace cairn::detail {
namespace {

StepRefArgs ref_of(const RunState& run, const OpSlot& slot) {
  return StepRefArgs{run.id, slot.position, slot.id};
}

const char* kind_name(OpKind k) {
  switch (k) {
    case OpKind::kStep:
      return "run";
    case OpKind::kSleep:
      return "sleep";
    case OpKind::kWait:
      return "wait_for_event";
    case OpKind::kSend:
      return "send_event";
    case OpKind::kInvoke:
      return "invoke";
  }
  return "?";
}

std::string nondeterminism(const OpSlot& slot, OpKind recorded_kind, std::string_view recorded_id) {
  return "non-determinism at position " + std::to_string(slot.position) +
         ": the function asked for " + kind_name(slot.kind) + "(\"" + slot.id +
         "\") but its history has " + kind_name(recorded_kind) + "(\"" + std::string(recorded_id) +
         "\") there. Its code changed or depends on something other than step results; the run "
         "was failed rather than continued on a different path.";
}

// Gives the slot the result of a resolved operation (from history or from the pending op).
void fill(OpSlot& slot, bool failed, const std::string& value, const std::optional<Event>& event) {
  slot.resolved = true;
  slot.failed = failed;
  slot.value = value;
  if (!failed && slot.kind == OpKind::kWait && slot.event_out != nullptr) *slot.event_out = event;
}

void fill_from(OpSlot& slot, const PendingOp& op) {
  static const std::optional<Event> kNone;
  fill(slot, op.failed, op.value, op.wait ? op.wait->matched : kNone);
}

int64_t steady_ns() {
  return std::chrono::steady_clock::now().time_since_epoch().count();
}

// Arguments that make an operation fail the same way every time; checked before anything is
// recorded, so replay reaches the same verdict.
std::string invalid_arguments(const RunState& run, const OpSlot& slot) {
  switch (slot.kind) {
    case OpKind::kWait: {
      const auto& w = *static_cast<const WaitRequest*>(slot.request);
      if (w.event.empty()) return "wait_for_event needs an event name";
      if (!w.match.empty() && !w.match.starts_with("data.")) {
        return "wait_for_event: match must be a path into the event's data, like \"data.id\"";
      }
      if (w.value && !canonical_json(*w.value)) return "wait_for_event: value is not JSON";
      break;
    }
    case OpKind::kSend: {
      const auto& e = *static_cast<const Event*>(slot.request);
      if (e.name.empty()) return "send_event needs an event name";
      if (!is_json_object(e.data)) return "send_event: data is not a JSON object";
      break;
    }
    case OpKind::kInvoke: {
      const auto& i = *static_cast<const InvokeRequest*>(slot.request);
      if (run.engine.registry().find(i.function) == nullptr) {
        return "invoke: no function \"" + i.function + "\" is registered";
      }
      if (!is_json_object(i.data)) return "invoke: data is not a JSON object";
      break;
    }
    default:
      break;
  }
  return {};
}

}  // namespace

void Executor::destroy(RunState* run) {
  std::unique_ptr<RunState> owned(run);  // the task's destructor destroys its frames
}

void Executor::abandon(RunState& run) {
  Sched s = Sched::kQueued;
  if (run.sched.compare_exchange_strong(s, Sched::kAbandoned, std::memory_order_acq_rel)) return;
  // kNotified: apply may have finished it meanwhile; we still own it.
  if (run.finished.load(std::memory_order_acquire)) {
    destroy(&run);
  } else {
    run.sched.store(Sched::kAbandoned, std::memory_order_release);
  }
}

void Executor::drive(RunState& run) {
  for (;;) {
    if (run.finished.load(std::memory_order_acquire)) {
      destroy(&run);
      return;
    }
    if (core_.stopping()) {
      abandon(run);  // its records are durable; the next start() resumes it
      return;
    }
    if (run.fn != nullptr && !run.done) {
      if (!run.task) {
        start(run);
      } else {
        switch (next_action(run)) {
          case Next::kResume: {
            const int64_t t = run.notified_at_ns.exchange(0, std::memory_order_relaxed);
            if (t != 0) core_.record_dispatch(steady_ns() - t);
            std::exchange(run.suspended, nullptr).resume();
            break;
          }
          case Next::kRetry: {
            uint32_t attempt;
            {
              std::lock_guard lock(run.op_lock);
              attempt = run.op.attempts + 1;
            }
            run_step(run, *run.current, attempt);
            break;
          }
          case Next::kNothing:
            break;
        }
      }
      if (run.task && (run.task.done() || run.fatal)) finish(run);
    }
    if (Scheduler::try_park(run)) return;
  }
}

Executor::Next Executor::next_action(RunState& run) {
  const OpSlot* slot = run.current;
  if (slot == nullptr) return Next::kNothing;
  std::lock_guard lock(run.op_lock);
  const PendingOp& op = run.op;
  if (op.position != slot->position || op.kind != slot->kind) return Next::kNothing;
  if (op.state == OpState::kResolved) return Next::kResume;
  if (op.kind == OpKind::kStep && op.state == OpState::kRetryDue &&
      !(run.attempt_position == slot->position && run.attempt_started > op.attempts)) {
    return Next::kRetry;
  }
  return Next::kNothing;
}

void Executor::start(RunState& run) {
  run.task = run.fn->body(run.ctx, run.event);
  run.task.resume();
}

void Executor::finish(RunState& run) {
  run.done = true;
  bool failed = run.fatal != nullptr;
  std::string text = failed ? std::move(*run.fatal) : std::string();
  if (!failed) {
    try {
      text = run.task.result();
    } catch (const std::exception& e) {
      failed = true;
      text = e.what();
    } catch (...) {
      failed = true;
      text = "the function threw something that is not a std::exception";
    }
  }
  run.current = nullptr;
  run.suspended = nullptr;
  run.task = Task<std::string>();  // destroys the frames
  const auto& opts = core_.options();
  if (!failed && text.size() > opts.step_output_bytes_max) {
    failed = true;
    text = "the function's output of " + std::to_string(text.size()) +
           " bytes exceeds step_output_bytes_max (" + std::to_string(opts.step_output_bytes_max) +
           ")";
  }
  if (!failed) {
    (void)core_.append(schema::RecordType::RunCompleted, build_run_completed(run.id, text));
    return;
  }
  const RunId handler = run.fn->on_failure != nullptr ? core_.allocate_run_ids(1) : 0;
  (void)core_.append(schema::RecordType::RunFailed, build_run_failed(run.id, text, handler));
}

uint32_t Executor::retries_for(const RunState& run, const OpSlot& slot) const {
  return slot.retries.value_or(run.fn->options.retries);
}

int64_t Executor::backoff_ms(const RunState& run, uint32_t attempt) const {
  thread_local std::minstd_rand rng(std::random_device{}());
  const auto& o = run.fn->options;
  const int64_t base = o.backoff_base.count();
  const int64_t cap = o.backoff_max.count();
  int64_t d = base;
  for (uint32_t i = 1; i < attempt && d < cap; ++i) d *= 2;
  d = std::min(d, cap);
  // ±25% jitter keeps many runs that failed together from retrying together.
  std::uniform_int_distribution<int64_t> jitter(-d / 4, d / 4);
  return std::max<int64_t>(1, d + jitter(rng));
}

void Executor::run_step(RunState& run, OpSlot& slot, uint32_t attempt) {
  run.attempt_position = slot.position;
  run.attempt_started = attempt;
  thread_local std::string key;
  thread_local std::string out;
  key = std::to_string(run.id);
  key += ':';
  key += slot.id;
  out.clear();
  const StepRefArgs ref = ref_of(run, slot);
  const uint32_t retries = retries_for(run, slot);
  const bool can_retry = attempt <= retries;
  auto now = [&] { return core_.clock().now_ms(); };  // only on failure: the clock costs a call
  auto failed = [&](schema::FailureKind kind, std::string error, int64_t retry_at) {
    error += " (attempt " + std::to_string(attempt) + " of " + std::to_string(retries + 1) + ")";
    (void)core_.append(schema::RecordType::StepFailed,
                       build_step_failed(ref, attempt, kind, error, retry_at));
  };
  try {
    slot.body->run(StepInfo{attempt, key}, out);
  } catch (const NonRetriableError& e) {
    failed(schema::FailureKind::NonRetriable, e.what(), 0);
    return;
  } catch (const RetryAfterError& e) {
    failed(schema::FailureKind::RetryAfter, e.what(), can_retry ? now() + e.delay().count() : 0);
    return;
  } catch (const std::exception& e) {
    failed(schema::FailureKind::Retriable, e.what(),
           can_retry ? now() + backoff_ms(run, attempt) : 0);
    return;
  } catch (...) {
    failed(schema::FailureKind::Retriable, "the step threw something that is not a std::exception",
           can_retry ? now() + backoff_ms(run, attempt) : 0);
    return;
  }
  const uint32_t max = core_.options().step_output_bytes_max;
  if (out.size() > max) {
    failed(schema::FailureKind::NonRetriable,
           "step output of " + std::to_string(out.size()) +
               " bytes exceeds step_output_bytes_max (" + std::to_string(max) + ")",
           0);
    return;
  }
  (void)core_.append(schema::RecordType::StepCompleted, build_step_completed(ref, attempt, out));
}

void Executor::start_wait(RunState& run, OpSlot& slot) {
  const WaitRequest& w = *static_cast<const WaitRequest*>(slot.request);
  std::string value;
  if (!w.match.empty()) {
    // A field the starting event lacks can never match: a value no event field produces.
    std::optional<std::string> v =
        w.value ? canonical_json(*w.value) : json_field(run.event.data, w.match);
    value = v ? std::move(*v) : std::string("\x01missing");
  }
  const int64_t timeout_at = w.timeout.count() > 0 ? core_.clock().now_ms() + w.timeout.count() : 0;
  (void)core_.append(schema::RecordType::WaitStarted,
                     build_wait_started(ref_of(run, slot), w.event, w.match, value, timeout_at));
}

void Executor::start_send(RunState& run, OpSlot& slot) {
  Event event = *static_cast<const Event*>(slot.request);
  bool duplicate = false;
  std::vector<std::string_view> functions;
  Status st = core_.prepare_event(event, &duplicate, &functions);
  if (!st.ok()) {
    fail_run(run, "send_event(\"" + slot.id + "\"): " + st.to_string());
    return;
  }
  const RunId first =
      functions.empty() ? 0 : core_.allocate_run_ids(static_cast<uint32_t>(functions.size()));
  const StepRefArgs ref = ref_of(run, slot);
  (void)core_.append(schema::RecordType::EventAccepted,
                     build_event_accepted(event, first, functions, &ref, duplicate));
}

void Executor::start_invoke(RunState& run, OpSlot& slot) {
  const InvokeRequest& o = *static_cast<const InvokeRequest*>(slot.request);
  const RunId child = core_.allocate_run_ids(1);
  Event event{"cairn/function.invoked", o.data, {}, core_.clock().now_ms()};
  const StepRefArgs ref = ref_of(run, slot);
  (void)core_.append(schema::RecordType::RunCreated,
                     build_run_created(child, o.function, event, &ref));
}

void Executor::fail_run(RunState& run, std::string error) {
  if (!run.fatal) run.fatal = std::make_unique<std::string>(std::move(error));
}

bool Executor::op_ready(RunState& run, OpSlot& slot) {
  if (run.fatal) return false;
  // A repeated id gets a suffix, so every operation of a run has its own id: "charge", "charge:1".
  if (const uint32_t n = run.id_counts.use(std::hash<std::string>{}(slot.id)); n > 0) {
    slot.id += ':' + std::to_string(n);
  }
  slot.position = run.next_position;
  if (slot.position >= core_.options().steps_per_run_max) {
    fail_run(run, "the run reached steps_per_run_max (" +
                      std::to_string(core_.options().steps_per_run_max) + ") at " + slot.id);
    return false;
  }
  if (run.replaying) {
    std::vector<HistoryEntry>& history = *run.history;
    if (run.history_used < history.size()) {
      const HistoryEntry& e = history[run.history_used];
      if (e.kind != slot.kind || e.step_id != slot.id) {
        fail_run(run, nondeterminism(slot, e.kind, e.step_id));
        return false;
      }
      fill(slot, e.failed, e.value, e.event);
      ++run.history_used;
      ++run.next_position;
      if (run.history_used == history.size()) {
        run.replaying = false;
        run.history.reset();
      }
      return true;
    }
    run.replaying = false;
    run.history.reset();
  }
  {
    std::lock_guard lock(run.op_lock);
    const PendingOp& op = run.op;
    if (op.position == slot.position && op.state != OpState::kNone) {
      if (op.kind != slot.kind || (!op.step_id.empty() && op.step_id != slot.id)) {
        fail_run(run, nondeterminism(slot, op.kind, op.step_id));
        return false;
      }
      if (op.state == OpState::kResolved) {
        fill_from(slot, op);
        ++run.next_position;
        return true;
      }
      return false;  // recorded before a restart and still pending: wait for it
    }
  }
  if (std::string bad = invalid_arguments(run, slot); !bad.empty()) {
    // Nothing is recorded, so no position is used: replay reaches the same verdict here.
    slot.resolved = true;
    slot.failed = true;
    slot.value = std::move(bad);
    return true;
  }
  return false;
}

void Executor::op_suspend(RunState& run, OpSlot& slot) {
  run.current = &slot;
  if (run.fatal) return;
  OpState state;
  uint32_t attempts;
  {
    std::lock_guard lock(run.op_lock);
    const bool same = run.op.position == slot.position && run.op.kind == slot.kind;
    state = same ? run.op.state : OpState::kNone;
    attempts = same ? run.op.attempts : 0;
  }
  switch (slot.kind) {
    case OpKind::kStep:
      if (state == OpState::kNone) run_step(run, slot, 1);
      if (state == OpState::kRetryDue &&
          !(run.attempt_position == slot.position && run.attempt_started > attempts)) {
        run_step(run, slot, attempts + 1);
      }
      break;
    case OpKind::kSleep:
      if (state == OpState::kNone) {
        (void)core_.append(schema::RecordType::SleepStarted,
                           build_sleep_started(ref_of(run, slot), slot.deadline_ms));
      }
      break;
    case OpKind::kWait:
      if (state == OpState::kNone) start_wait(run, slot);
      break;
    case OpKind::kSend:
      if (state == OpState::kNone) start_send(run, slot);
      break;
    case OpKind::kInvoke:
      if (state == OpState::kNone) start_invoke(run, slot);
      break;
  }
}

void Executor::op_resume(RunState& run, OpSlot& slot) {
  if (!slot.resolved) {
    // Resolved by a record applied while the coroutine was suspended here.
    std::lock_guard lock(run.op_lock);
    const PendingOp& op = run.op;
    CAIRN_CHECK(op.position == slot.position && op.state == OpState::kResolved);
    fill_from(slot, op);
    ++run.next_position;
  }
  run.current = nullptr;
  if (slot.failed) throw StepError(slot.id, slot.value);
}

}  // namespace cairn::detail
