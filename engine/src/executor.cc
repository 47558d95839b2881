// Executor (see executor.h).
#include "executor.h"

#include <charconv>
#include <chrono>
#include <limits>
#include <random>

#include "cairn/errors.h"
#include "engine_core.h"
#include "engine_limits.h"
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

// What the log holds for one position of a run: the replayed history's entry, or the newest
// durable fact (the pending operation). One view, so that matching the code against what was
// recorded and taking a recorded result are each decided in one place, whichever the source.
struct Recorded {
  OpKind kind;
  std::string_view step_id;  // may be empty for a pending op resolved by another run's record
  bool resolved;
  bool failed;
  const std::string& value;
  const Event* event;  // a wait's matched event; null otherwise

  static Recorded of(const ReplayEntry& e) {
    return {e.kind, e.step_id, true, e.failed, e.value, e.event.get()};
  }
  static Recorded of(const PendingOp& op) {
    const Event* matched = op.wait && op.wait->matched ? &*op.wait->matched : nullptr;
    return {op.kind, op.step_id, op.state == OpState::kResolved, op.failed, op.value, matched};
  }
};

// Why the operation the code asks for is not the one recorded at its position; empty when it is.
std::string divergence(const OpSlot& slot, const Recorded& r) {
  if (r.kind == slot.kind && (r.step_id.empty() || r.step_id == slot.id)) return {};
  return "non-determinism at position " + std::to_string(slot.position) +
         ": the function asked for " + kind_name(slot.kind) + "(\"" + slot.id +
         "\") but its history has " + kind_name(r.kind) + "(\"" + std::string(r.step_id) +
         "\") there. Its code changed or depends on something other than step results; the run "
         "was failed rather than continued on a different path.";
}

// Gives the slot a recorded result.
void take_result(OpSlot& slot, const Recorded& r) {
  slot.resolved = true;
  slot.failed = r.failed;
  slot.value = r.value;
  if (!r.failed && slot.kind == OpKind::kWait && slot.event_out != nullptr) {
    *slot.event_out = r.event ? std::optional<Event>(*r.event) : std::nullopt;
  }
}

// The attempt of the step at `slot` this process may run now, or 0: the first when nothing is
// recorded for it, the next when a retry came due that this process has not started yet.
uint32_t attempt_due(const RunState& run, const OpSlot& slot, const PendingOp& op) {
  const bool same = op.position == slot.position && op.kind == slot.kind;
  if (!same || op.state == OpState::kNone) return 1;
  const bool started_here =
      run.attempt_position == slot.position && run.attempt_started > op.attempts;
  return op.state == OpState::kRetryDue && !started_here ? op.attempts + 1 : 0;
}

// " (attempt 2 of 5)": which try a failure's error is of. In 64 bits: StepOptions::retries may be
// UINT32_MAX, and the count wrapped to "of 0".
std::string attempt_suffix(uint32_t attempt, uint32_t retries) {
  return " (attempt " + std::to_string(attempt) + " of " + std::to_string(uint64_t{retries} + 1) +
         ")";
}

int64_t steady_ns() {
  return std::chrono::steady_clock::now().time_since_epoch().count();
}

// Arguments that make an operation fail the same way every time — malformed, or over a limit —
// checked before anything is recorded and before the operation takes a position, so that replay
// reaches the same verdict at the same point.
std::string invalid_arguments(const RunState& run, const OpSlot& slot, const EngineOptions& o) {
  if (slot.id.size() > o.step_id_bytes_max) {
    return std::string(kind_name(slot.kind)) + "(\"" + slot.id.substr(0, 48) +
           "...\"): the id has " + std::to_string(slot.id.size()) +
           " bytes; step_id_bytes_max is " + std::to_string(o.step_id_bytes_max);
  }
  if (slot.id.empty()) return std::string(kind_name(slot.kind)) + " needs an id";
  if (slot.kind == OpKind::kStep || slot.kind == OpKind::kSleep) return {};  // the hot path
  const std::string op = std::string(kind_name(slot.kind)) + "(\"" + slot.id + "\")";
  switch (slot.kind) {
    case OpKind::kWait: {
      const WaitRequest& w = *std::get<const WaitRequest*>(slot.request);
      if (w.event.empty()) return op + " needs an event name";
      // Triggers read a trailing "/*" as a prefix; a wait compares names exactly, so "order/*"
      // would wait for an event of that very name, never for "order/shipped".
      if (w.event.find('*') != std::string::npos) {
        return op +
               ": event names are matched exactly, '*' is no wildcard here (wait for one "
               "name; \"" +
               w.event.substr(0, 64) + "\" matches only itself)";
      }
      // Read as 0 ("no timeout") it made a deadline that had passed into a wait without end.
      if (w.timeout.count() < 0) {
        return op + ": timeout must not be negative (0: no timeout), got " +
               std::to_string(w.timeout.count()) + " ms";
      }
      if (!w.match.empty() && !w.match.starts_with("data.")) {
        return op + ": match must be a path into the event's data, like \"data.id\"";
      }
      // value is compared with the field `match` names; without one it was ignored and any event
      // of the name resumed the wait.
      if (w.value && w.match.empty()) {
        return op + ": value needs match, the path of the field to compare it with (\"data.id\")";
      }
      // Compared as canonical JSON, which is not made of values nested past the data limit.
      if (w.value && schema::json_nests_deeper_than(*w.value, schema::kJsonDepthMax)) {
        return op + ": value nests arrays and objects deeper than " +
               std::to_string(schema::kJsonDepthMax) + " levels";
      }
      if (w.value && !canonical_json(*w.value)) return op + ": value is not JSON";
      if (!w.match.empty() && !w.value && !json_field(run.event.data, w.match)) {
        // It could never match: fail now rather than wait (forever, without a timeout).
        return op + ": the event that started this run has no field " + w.match +
               " to match on; match a field it has, or give WaitOptions::value";
      }
      const size_t bytes = w.event.size() + w.match.size() + (w.value ? w.value->size() : 0);
      if (bytes > o.event_bytes_max) {
        return op + ": event name, match and value have " + std::to_string(bytes) +
               " bytes; event_bytes_max is " + std::to_string(o.event_bytes_max);
      }
      break;
    }
    case OpKind::kSend: {
      const Event& e = *std::get<const Event*>(slot.request);
      if (e.name.empty()) return op + " needs an event name";
      // As send() checks it (prepare_event checks again), size first so that oversized data is
      // not parsed: here the function can catch it.
      if (std::optional<std::string> why = event_size_problem(e, o)) return op + ": " + *why;
      if (std::optional<std::string> why = event_data_problem(e.data)) return op + ": " + *why;
      break;
    }
    case OpKind::kInvoke: {
      const InvokeRequest& i = *std::get<const InvokeRequest*>(slot.request);
      if (run.engine.registry().find(i.function) == nullptr) {
        return op + ": no function \"" + i.function + "\" is registered";
      }
      if (std::optional<std::string> why = event_data_problem(i.data)) return op + ": " + *why;
      if (i.data.size() > o.event_bytes_max) {
        return op + ": data has " + std::to_string(i.data.size()) + " bytes; event_bytes_max is " +
               std::to_string(o.event_bytes_max);
      }
      break;
    }
    default:
      break;
  }
  return {};
}

// Why a run that ends here cannot be the run its history recorded: the history goes on past the
// point where the code stopped (code changed to do fewer operations). Empty when it matches.
std::string ended_early(RunState& run) {
  std::string next;
  if (run.history && run.history_used < run.history->size()) {
    const ReplayEntry& e = (*run.history)[run.history_used];
    next = std::string(kind_name(e.kind)) + "(\"" + e.step_id + "\")";
  } else {
    std::lock_guard lock(run.op_lock);
    if (run.op.state != OpState::kNone && run.op.position >= run.next_position) {
      next = std::string(kind_name(run.op.kind)) + "(\"" + run.op.step_id + "\")";
    }
  }
  if (next.empty()) return {};
  return "non-determinism: the function ended after " + std::to_string(run.next_position) +
         " operations, but its history goes on with " + next + " at position " +
         std::to_string(run.next_position) +
         ". Its code changed or depends on something other than step results; the run was failed "
         "rather than finished on a different path.";
}

// A repeated id gets a suffix, so every operation of a run has its own id (and its own
// idempotency key): "charge", "charge:1", "charge:2". An id the code gives literally never meets a
// generated one: a suffix an earlier literal id took is skipped ("c", "c:1", "c" gives "c",
// "c:1", "c:2"), and a literal id that a suffix already made is suffixed itself ("c", "c",
// "c:1" gives "c", "c:1", "c:1:1"). Only the ids used so far decide, so replay gives the same ids.
void unique_operation_id(IdCounts& counts, std::string& id) {
  const auto hash = [](std::string_view s) { return std::hash<std::string_view>{}(s); };
  uint32_t n = counts.use(hash(id));
  if (n == 0) {
    // "base:k" was generated when base was used more than k times.
    const size_t colon = id.rfind(':');
    const std::string_view digits =
        colon == std::string::npos ? std::string_view() : std::string_view(id).substr(colon + 1);
    uint64_t k = 0;
    const char* end = digits.data() + digits.size();
    const auto [stop, ec] = std::from_chars(digits.data(), end, k);
    const bool suffix_form =
        !digits.empty() && digits[0] != '0' && ec == std::errc() && stop == end;
    if (!suffix_form || counts.seen(hash(std::string_view(id).substr(0, colon))) <= k) return;
    n = counts.use(hash(id));  // taken: this one is the literal id's first repeat
  }
  const size_t base_size = id.size();
  for (;;) {
    id.resize(base_size);
    id += ':' + std::to_string(n);
    if (counts.seen(hash(id)) == 0) return;  // no literal id took it
    id.resize(base_size);
    n = counts.use(hash(id));
  }
}

}  // namespace

void Executor::destroy(RunState* run) {
  std::unique_ptr<RunState> owned(run);  // the task's destructor destroys its frames
}

void Executor::abandon(RunState& run) {
  Sched s = run.sched.load(std::memory_order_acquire);
  for (;;) {
    if (s == Sched::kFinished) {  // apply let go of it: ours to free
      destroy(&run);
      return;
    }
    // kQueued or kNotified: ours. Whoever finishes it later frees it (release_finished).
    if (run.sched.compare_exchange_weak(s, Sched::kAbandoned, std::memory_order_acq_rel)) return;
  }
}

void Executor::drive(RunState& run) {
  for (;;) {
    if (run.sched.load(std::memory_order_acquire) == Sched::kFinished) {
      destroy(&run);  // apply let go of it (release_finished)
      return;
    }
    if (run.finished.load(std::memory_order_acquire)) {
      // Apply may still be using it: park it (apply then frees it), or meet its kFinished.
      if (Scheduler::try_park(run)) return;
      continue;
    }
    if (core_.stopping()) {
      abandon(run);  // its records are durable; the next start() resumes it
      return;
    }
    if (run.flow != nullptr && !run.done && !act_on_flow(run)) {
      if (Scheduler::try_park(run)) return;
      continue;
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
              attempt = attempt_due(run, *run.current, run.op);
            }
            if (attempt == 0) break;
            if (run.current->kind == OpKind::kSend) {
              start_send(run, *run.current, attempt);
            } else {
              run_step(run, *run.current, attempt);
            }
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
  if (is_retried(op.kind) && op.state == OpState::kRetryDue && attempt_due(run, *slot, op) > 0) {
    return Next::kRetry;
  }
  return Next::kNothing;
}

void Executor::start(RunState& run) {
  run.task = run.fn->body(run.ctx, run.event);
  run.task.resume();
}

void Executor::finish(RunState& run) {
  // The end is a step boundary too: a stop asked for while the function ran its last step (or
  // returned) is recorded instead of the end. One asked for from here on, while its end record
  // is on its way to the log, finds the run finished (docs/flow-control.md).
  if (run.flow != nullptr && run.flow->cancel_requested.load(std::memory_order_acquire)) {
    run.current = nullptr;
    run.suspended = nullptr;
    run.task = ErasedTask();
    record_cancelled(run);
    return;
  }
  run.done = true;
  bool failed = run.fatal != nullptr;
  std::string text = failed ? std::move(*run.fatal) : std::string();
  if (!failed) {
    try {
      text = run.task.result();
    } catch (const StepError& e) {
      // Which operation: a run fails with many steps behind it, and the error alone
      // ("payment API down (attempt 3 of 3)") does not say where.
      failed = true;
      text = "\"" + e.step_id() + "\" failed: " + e.what();
    } catch (const std::exception& e) {
      failed = true;
      text = e.what();
    } catch (...) {
      failed = true;
      text = "the function threw something that is not a std::exception";
    }
    // Ending (either way) before the recorded history is used up is a different run.
    if (std::string early = ended_early(run); !early.empty()) {
      failed = true;
      text = std::move(early);
    }
  }
  run.current = nullptr;
  run.suspended = nullptr;
  run.task = ErasedTask();  // destroys the frames
  const auto& opts = core_.options();
  if (!failed && text.size() > opts.step_output_bytes_max) {
    failed = true;
    text = "the function's output of " + std::to_string(text.size()) +
           " bytes exceeds step_output_bytes_max (" + std::to_string(opts.step_output_bytes_max) +
           ")";
  }
  if (!failed) {
    const Status st =
        append(schema::RecordType::RunCompleted,
               build_run_completed(run.id, text, run.fn->output_format, core_.clock().now_us()));
    if (st.ok() || !is_size_error(st)) return;  // a failed log stops the engine: nothing to add
    text = "recording the function's output: " + st.to_string();
  }
  append_failure(run, std::move(text));
}

void Executor::append_failure(RunState& run, std::string text) {
  const auto& opts = core_.options();
  const RunId handler = run.fn->on_failure != nullptr ? core_.allocate_run_ids(1) : 0;
  text = bounded_text(text, opts.error_bytes_max);
  const Status st = append(schema::RecordType::RunFailed,
                           build_run_failed(run.id, text, handler, core_.clock().now_us()));
  // Bounded text keeps RunFailed within the record limit (check_engine_limits): only a failed
  // log can refuse it, and that stops the engine.
  CAIRN_CHECK_MSG(st.ok() || !is_size_error(st), "a bounded RunFailed record was refused");
}

void Executor::record_cancelled(RunState& run) {
  RunFlow& f = *run.flow;
  if (f.recorded_end) return;
  f.recorded_end = true;
  run.done = true;  // stops at this step boundary: nothing more of it runs
  // record() fails the run if the log refused the record for its size; any other refusal is a
  // failed log, which stops the engine.
  record(run, schema::RecordType::RunCancelled,
         build_run_cancelled(run.id, f.cancel_reason, core_.clock().now_us()), "cancelling");
}

bool Executor::act_on_flow(RunState& run) {
  RunFlow& f = *run.flow;
  if (f.cancel_requested.load(std::memory_order_acquire)) {
    record_cancelled(run);
    return false;
  }
  switch (f.admission.load(std::memory_order_acquire)) {
    case RunFlow::Admission::kAdmitted:
      return true;
    case RunFlow::Admission::kToRecord: {
      const FunctionFlow* flow = run.fn->flow.get();
      const AdmittedArgs keys{flow->throttle.has_value(), f.throttle_key,
                              flow->rate_limit.has_value(), f.rate_limit_key,
                              core_.clock().now_ms()};
      if (!append(schema::RecordType::RunAdmitted, build_run_admitted(run.id, f.decided_ms, keys))
               .ok()) {
        return false;
      }
      f.admission.store(RunFlow::Admission::kAdmitted, std::memory_order_relaxed);
      return true;
    }
    case RunFlow::Admission::kToSkip:
      run.done = true;
      record(run, schema::RecordType::RunSkipped,
             build_run_skipped(run.id, f.skip_reason, f.rate_limit_key, core_.clock().now_us()),
             "skipping");
      return false;
    case RunFlow::Admission::kToFail:
      run.done = true;
      append_failure(run, f.skip_reason);
      return false;
    case RunFlow::Admission::kUndecided:
    case RunFlow::Admission::kDelayed:
      return false;  // apply decides, then makes it runnable
  }
  return false;
}

Status Executor::append(schema::RecordType type, Bytes payload) {
  CAIRN_CHECK(log_ != nullptr);  // set by start() before any run is driven
  Result<log::Lsn> lsn = log_->append(type_of(type), payload);
  return lsn.ok() ? Status() : lsn.status();
}

bool Executor::record(RunState& run, schema::RecordType type, Bytes payload,
                      std::string_view what) {
  const Status st = append(type, payload);
  if (st.ok()) return true;
  // Over the log's record limit (a combination the per-field limits let through, such as an
  // event that starts very many functions): the run fails with the reason instead of waiting
  // forever for a record that was never written. Any other error means the log failed: the
  // engine stops and health() says why.
  if (is_size_error(st)) fail_run(run, std::string(what) + ": " + st.to_string());
  return false;
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
  for (uint32_t i = 1; i < attempt && d < cap; ++i) d = d > cap / 2 ? cap : d * 2;
  d = std::min(d, cap);
  // ±25% jitter keeps many runs that failed together from retrying together.
  std::uniform_int_distribution<int64_t> jitter(-d / 4, d / 4);
  const int64_t j = jitter(rng);
  // Saturated: for a backoff near milliseconds::max() ("no cap") d + j overflowed into a
  // negative number, and the retry came 1 ms later instead of never.
  if (j > 0 && d > std::numeric_limits<int64_t>::max() - j) {
    return std::numeric_limits<int64_t>::max();
  }
  return std::max<int64_t>(1, d + j);
}

void Executor::record_failed_attempt(RunState& run, const OpSlot& slot, uint32_t attempt,
                                     schema::FailureKind kind, std::string_view error,
                                     std::string_view suffix, int64_t retry_at, AttemptTimes times,
                                     std::string_view what) {
  const uint32_t max = core_.options().error_bytes_max - static_cast<uint32_t>(suffix.size());
  std::string text = bounded_text(error, max);
  text += suffix;
  record(run, schema::RecordType::StepFailed,
         build_step_failed(ref_of(run, slot), attempt, kind, text, retry_at, times), what);
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
  // The attempt's times go into its record, for tools (durations, the timeline).
  AttemptTimes times{core_.clock().now_us(), 0};
  auto now = [&] { return times.finished_us / 1000; };
  auto failed = [&](schema::FailureKind kind, std::string_view error, int64_t retry_at) {
    // A non-retriable failure ends the step whatever retries were left: "of N" would promise
    // attempts that never come.
    const std::string suffix = kind == schema::FailureKind::NonRetriable
                                   ? " (attempt " + std::to_string(attempt) + ", not retried)"
                                   : attempt_suffix(attempt, retries);
    record_failed_attempt(run, slot, attempt, kind, error, suffix, retry_at, times,
                          "recording a step failure");
  };
  try {
    slot.body->run(StepInfo{attempt, key}, out);
    times.finished_us = core_.clock().now_us();
  } catch (const NonRetriableError& e) {
    times.finished_us = core_.clock().now_us();
    failed(schema::FailureKind::NonRetriable, e.what(), 0);
    return;
  } catch (const RetryAfterError& e) {
    times.finished_us = core_.clock().now_us();
    failed(schema::FailureKind::RetryAfter, e.what(),
           can_retry ? detail::add_ms_saturated(now(), e.delay().count()) : 0);
    return;
  } catch (const std::exception& e) {
    times.finished_us = core_.clock().now_us();
    failed(schema::FailureKind::Retriable, e.what(),
           can_retry ? detail::add_ms_saturated(now(), backoff_ms(run, attempt)) : 0);
    return;
  } catch (...) {
    times.finished_us = core_.clock().now_us();
    failed(schema::FailureKind::Retriable, "the step threw something that is not a std::exception",
           can_retry ? detail::add_ms_saturated(now(), backoff_ms(run, attempt)) : 0);
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
  record(run, schema::RecordType::StepCompleted,
         build_step_completed(ref, attempt, out, slot.body->format(), times),
         "recording a step's output");
}

void Executor::start_wait(RunState& run, OpSlot& slot) {
  const WaitRequest& w = *std::get<const WaitRequest*>(slot.request);
  std::string value;
  if (!w.match.empty()) {
    // invalid_arguments() made sure there is a value to match: given, or in the starting event.
    std::optional<std::string> v =
        w.value ? canonical_json(*w.value) : json_field(run.event.data, w.match);
    CAIRN_CHECK(v.has_value());
    value = std::move(*v);
  }
  const int64_t now_us = core_.clock().now_us();
  const int64_t timeout_at =
      w.timeout.count() > 0 ? detail::add_ms_saturated(now_us / 1000, w.timeout.count()) : 0;
  record(run, schema::RecordType::WaitStarted,
         build_wait_started(ref_of(run, slot), w.event, w.match, value, timeout_at, now_us),
         "recording a wait");
}

void Executor::start_send(RunState& run, OpSlot& slot, uint32_t attempt) {
  run.attempt_position = slot.position;
  run.attempt_started = attempt;
  Event event = *std::get<const Event*>(slot.request);
  const bool id_generated = event.id.empty();
  bool duplicate = false;
  std::vector<std::string_view> functions;
  Status st = core_.prepare_event(event, &duplicate, &functions);
  if (st.ok() && !duplicate) {
    st = core_.check_room_for_runs(functions.size());
    // More runs than the limit itself: the NoRoom path below records that it never fits.
    if (st.code() == StatusCode::kLimitExceeded)
      st = Status(StatusCode::kUnavailable, st.message());
    if (!st.ok()) core_.dedup().erase(event.id);
  }
  // kClosed: the engine stopped while this waited for another send of the id to become durable.
  // Nothing is recorded: the next start() resumes the run and sends again.
  if (st.code() == StatusCode::kClosed) return;
  if (st.code() == StatusCode::kUnavailable) {
    // No room for now (runs_active_max, a full dedup window): a state of the engine, not of the
    // event. Tried again as a failed step is, with the function's retries and backoff, and
    // recorded (schema::FailureKind::NoRoom), so that a replay waits, or fails, at the same point.
    // Past the retries the function gets a StepError it may catch: runs that each wait for room
    // only other runs' ends can make would otherwise hold the engine full for ever.
    const uint32_t retries = retries_for(run, slot);
    // This run is one of the unfinished ones: an event starting as many runs as the limit never
    // fits beside it.
    const bool never = functions.size() >= core_.options().runs_active_max;
    const bool can_retry = !never && attempt <= retries;
    const int64_t now_us = core_.clock().now_us();
    const int64_t retry_at =
        can_retry ? detail::add_ms_saturated(now_us / 1000, backoff_ms(run, attempt)) : 0;
    const std::string suffix = never ? " (it starts " + std::to_string(functions.size()) +
                                           " runs: more than ever fit beside this one)"
                                     : attempt_suffix(attempt, retries);
    record_failed_attempt(run, slot, attempt, schema::FailureKind::NoRoom, st.message(), suffix,
                          retry_at, {now_us, now_us}, "send_event(\"" + slot.id + "\")");
    return;
  }
  if (!st.ok()) {
    fail_run(run, "send_event(\"" + slot.id + "\"): " + st.to_string());
    return;
  }
  const RunId first =
      functions.empty() ? 0 : core_.allocate_run_ids(static_cast<uint32_t>(functions.size()));
  const StepRefArgs ref = ref_of(run, slot);
  if (!record(run, schema::RecordType::EventAccepted,
              build_event_accepted(event, first, functions, &ref, duplicate, core_.clock().now_us(),
                                   id_generated),
              "send_event(\"" + slot.id + "\")") &&
      !duplicate) {
    core_.dedup().erase(event.id);
  }
}

void Executor::start_invoke(RunState& run, OpSlot& slot) {
  const InvokeRequest& o = *std::get<const InvokeRequest*>(slot.request);
  const RunId child = core_.allocate_run_ids(1);
  const int64_t now_us = core_.clock().now_us();
  Event event{"cairn/function.invoked", o.data, {}, now_us / 1000};
  const StepRefArgs ref = ref_of(run, slot);
  record(run, schema::RecordType::RunCreated,
         build_run_created(child, o.function, event, &ref, now_us), "invoke(\"" + slot.id + "\")");
}

void Executor::fail_run(RunState& run, std::string error) {
  if (!run.fatal) run.fatal = std::make_unique<std::string>(std::move(error));
}

bool Executor::recorded_next(RunState& run, const OpSlot& slot) {
  // The same rule as replay's match (divergence), so that what is let through here is taken there.
  if (run.replaying && run.history_used < run.history->size()) {
    return divergence(slot, Recorded::of((*run.history)[run.history_used])).empty();
  }
  std::lock_guard lock(run.op_lock);
  const PendingOp& op = run.op;
  return op.position == run.next_position && op.state != OpState::kNone &&
         divergence(slot, Recorded::of(op)).empty();
}

bool Executor::op_ready(RunState& run, OpSlot& slot) {
  if (run.fatal) return false;
  unique_operation_id(run.id_counts, slot.id);
  std::string bad = invalid_arguments(run, slot, core_.options());
  bool past_steps_max = run.next_position >= core_.options().steps_per_run_max;
  if ((!bad.empty() || past_steps_max) && recorded_next(run, slot)) {
    // Recorded, so it passed the checks then: it replays as recorded, whatever the options are
    // now (a limit lowered since, a function no longer registered).
    bad.clear();
    past_steps_max = false;
  }
  if (!bad.empty()) {
    // Nothing is recorded and no position is used, live or in replay: the same verdict, here.
    slot.resolved = true;
    slot.failed = true;
    slot.value = std::move(bad);
    return true;
  }
  slot.position = run.next_position;
  if (past_steps_max) {
    fail_run(run, "the run reached steps_per_run_max (" +
                      std::to_string(core_.options().steps_per_run_max) + ") at " + slot.id);
    return false;
  }
  if (run.replaying) {
    std::vector<ReplayEntry>& history = *run.history;
    if (run.history_used < history.size()) {
      const Recorded recorded = Recorded::of(history[run.history_used]);
      if (std::string why = divergence(slot, recorded); !why.empty()) {
        fail_run(run, std::move(why));
        return false;
      }
      take_result(slot, recorded);
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
  std::lock_guard lock(run.op_lock);
  const PendingOp& op = run.op;
  if (op.position == slot.position && op.state != OpState::kNone) {
    const Recorded recorded = Recorded::of(op);
    if (std::string why = divergence(slot, recorded); !why.empty()) {
      fail_run(run, std::move(why));
      return false;
    }
    if (recorded.resolved) {
      take_result(slot, recorded);
      ++run.next_position;
      return true;
    }
  }
  return false;  // start it (op_suspend), or wait for the one recorded before a restart
}

void Executor::op_suspend(RunState& run, OpSlot& slot) {
  run.current = &slot;
  if (run.fatal) return;
  // Ended while its code ran between two operations (Engine::cancel records the end without its
  // worker): nothing more starts, no step body, no record. drive() sees it next and lets it go.
  // A cancel that lands after this check finds the operation started; its record is then applied
  // after the end, and ignored.
  if (run.finished.load(std::memory_order_acquire)) return;
  OpState state;
  uint32_t attempt;
  {
    std::lock_guard lock(run.op_lock);
    const bool same = run.op.position == slot.position && run.op.kind == slot.kind;
    state = same ? run.op.state : OpState::kNone;
    attempt = is_retried(slot.kind) ? attempt_due(run, slot, run.op) : 0;
  }
  switch (slot.kind) {
    case OpKind::kStep:
      if (attempt > 0) run_step(run, slot, attempt);
      break;
    case OpKind::kSleep:
      if (state == OpState::kNone) {
        record(run, schema::RecordType::SleepStarted,
               build_sleep_started(ref_of(run, slot), slot.deadline_ms, core_.clock().now_us()),
               "recording a sleep");
      }
      break;
    case OpKind::kWait:
      if (state == OpState::kNone) start_wait(run, slot);
      break;
    case OpKind::kSend:
      if (attempt > 0) start_send(run, slot, attempt);
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
    take_result(slot, Recorded::of(op));
    ++run.next_position;
  }
  run.current = nullptr;
  if (slot.failed) throw StepError(slot.id, slot.value);
}

// The awaiter protocol of cairn/context.h: the functions an awaiter calls, forwarded to the run's
// executor.
bool op_ready(RunState& run, OpSlot& slot) {
  return run.engine.executor().op_ready(run, slot);
}

void op_suspend(RunState& run, OpSlot& slot, std::coroutine_handle<> h) {
  run.suspended = h;
  run.engine.executor().op_suspend(run, slot);
}

void op_resume(RunState& run, OpSlot& slot) {
  run.engine.executor().op_resume(run, slot);
}

uint64_t run_id_of(const RunState& run) {
  return run.id;
}
std::span<const Event> events_of(const RunState& run) {
  if (run.flow != nullptr && run.flow->batch != nullptr) return *run.flow->batch;
  return {&run.event, 1};
}

std::string_view function_id_of(const RunState& run) {
  return run.function_id;
}
int64_t now_ms_of(const RunState& run) {
  return run.engine.clock().now_ms();
}

}  // namespace cairn::detail
