// Projection (see projection.h): one handler per record type.
#include "projection.h"

#include <algorithm>

#include "engine_limits.h"
#include "failure_input.h"
#include "flatbuffer_views.h"
#include "run_page.h"
#include "timer_wheel.h"

namespace cairn::detail {
namespace {

// The log's verifier refuses copied results of other kinds, so the casts below are in range.
static_assert(static_cast<uint8_t>(OpKind::kStep) == schema::kCopiedOpKindMin &&
              static_cast<uint8_t>(OpKind::kInvoke) == schema::kCopiedOpKindMax);

using schema::RecordType;

template <typename T>
const T* root(std::span<const std::byte> payload) {
  return flatbuffers::GetRoot<T>(payload.data());
}

}  // namespace

Projection::Projection(EngineCore& core, const EngineOptions& options,
                       const FunctionRegistry& registry, DedupWindow& dedup,
                       ProjectionEffects& effects, const Clock& clock, ProjectedRuns runs)
    : core_(core),
      options_(options),
      registry_(registry),
      dedup_(dedup),
      effects_(effects),
      clock_(clock),
      runs_kind_(runs),
      admission_(options.flow_keys_max, options.idempotency_keys_max) {}

RunState& Projection::executable(RunRecord& run) const {
  CAIRN_CHECK(runs_kind_ == ProjectedRuns::kExecutable);
  return static_cast<RunState&>(run);
}

Projection::~Projection() {
  for (RunRecord* r : take_all()) std::unique_ptr<RunRecord> owned(r);
}

std::vector<RunRecord*> Projection::take_all() {
  std::unique_lock lock(table_mu_);
  std::vector<RunRecord*> out;
  out.reserve(runs_.size());
  runs_.for_each([&](RunId, RunRecord* r) { out.push_back(r); });
  runs_.clear();
  frozen_.clear();
  active_.store(0);
  for (auto& [id, counts] : functions_) {
    for (auto& n : counts.by_status) n.store(0, std::memory_order_relaxed);
  }
  return out;
}

void Projection::set_status(RunRecord& run, RunStatus status, std::memory_order order) {
  const RunStatus old = run.status.load(std::memory_order_relaxed);
  run.status.store(status, order);
  // Sleeping, waiting and finished runs hold no concurrency slot.
  if (run.holds_slot && status != RunStatus::kRunning && status != RunStatus::kQueued) {
    effects_.slot_released(run);
  }
  if (run.counts == nullptr || old == status) return;
  if (!is_finished(old)) {
    run.counts->by_status[static_cast<size_t>(old)].fetch_sub(1, std::memory_order_relaxed);
  }
  if (!is_finished(status)) {
    run.counts->by_status[static_cast<size_t>(status)].fetch_add(1, std::memory_order_relaxed);
  }
}

std::vector<std::pair<std::string, std::array<uint64_t, FunctionCounts::kStatuses>>>
Projection::function_counts() const {
  std::shared_lock lock(table_mu_);
  std::vector<std::pair<std::string, std::array<uint64_t, FunctionCounts::kStatuses>>> out;
  out.reserve(functions_.size());
  for (const auto& [id, counts] : functions_) {
    std::array<uint64_t, FunctionCounts::kStatuses> n{};
    for (size_t i = 0; i < n.size(); ++i)
      n[i] = counts.by_status[i].load(std::memory_order_relaxed);
    out.emplace_back(id, n);
  }
  return out;
}

RunRecord* Projection::find(RunId id) {
  if (RunRecord* r = runs_.find(id)) return r;
  if (frozen_.empty()) return nullptr;
  std::unique_lock lock(table_mu_);
  std::unique_ptr<RunRecord> run = frozen_.thaw(id, registry_);
  if (run == nullptr) return nullptr;
  RunRecord* r = run.release();  // owned by the table again
  runs_.insert(id, r);
  return r;
}

void Projection::maybe_freeze(RunRecord& run) {
  if (runs_kind_ != ProjectedRuns::kRecordsOnly || !FrozenRuns::can_freeze(run)) return;
  const auto fn_it = functions_.find(run.function_id);
  CAIRN_CHECK(fn_it != functions_.end());
  std::unique_ptr<RunRecord> owned(&run);  // the packed copy replaces it
  std::unique_lock lock(table_mu_);
  frozen_.freeze(run, *fn_it);
  runs_.erase(run.id);
}

void Projection::apply(log::Lsn lsn, log::RecordType type, std::span<const std::byte> payload,
                       bool live) {
  live_ = live;
  lsn_ = lsn;
  switch (static_cast<RecordType>(type)) {
    case RecordType::EventAccepted:
      on_event_accepted(*root<schema::EventAccepted>(payload));
      break;
    case RecordType::RunCreated:
      on_run_created(*root<schema::RunCreated>(payload));
      break;
    case RecordType::StepCompleted:
      on_step_completed(*root<schema::StepCompleted>(payload));
      break;
    case RecordType::StepFailed:
      on_step_failed(*root<schema::StepFailed>(payload));
      break;
    case RecordType::SleepStarted:
      on_sleep_started(*root<schema::SleepStarted>(payload));
      break;
    case RecordType::WaitStarted:
      on_wait_started(*root<schema::WaitStarted>(payload));
      break;
    case RecordType::RunResumed:
      on_run_resumed(*root<schema::RunResumed>(payload));
      break;
    case RecordType::RunCompleted:
      on_run_completed(*root<schema::RunCompleted>(payload));
      break;
    case RecordType::RunFailed:
      on_run_failed(*root<schema::RunFailed>(payload));
      break;
    case RecordType::RunCancelled:
      on_run_cancelled(*root<schema::RunCancelled>(payload));
      break;
    case RecordType::EventBatch:
      if (const auto* events = root<schema::EventBatch>(payload)->events()) {
        for (const schema::EventAccepted* e : *events) on_event_accepted(*e);
      }
      break;
    case RecordType::RunAdmitted:
      on_run_admitted(*root<schema::RunAdmitted>(payload));
      break;
    case RecordType::RunSkipped:
      on_run_skipped(*root<schema::RunSkipped>(payload));
      break;
    case RecordType::CronCursor:
      on_cron_cursor(*root<schema::CronCursor>(payload));
      break;
    default:
      break;  // not an engine record (Blob): nothing to project
  }
}

RunRecord* Projection::create_run(
    RunId id, std::string_view function_id, Event event, RunId parent_run, uint32_t parent_position,
    int64_t created_us, const flatbuffers::Vector<flatbuffers::Offset<schema::CopiedOp>>* copied,
    bool from_event) {
  if (id > max_run_id_) max_run_id_ = id;
  // Recorded twice: the first one stands.
  if (runs_.contains(id) || frozen_.contains(id)) return nullptr;
  const FunctionEntry* fn = registry_.find(function_id);
  // Only apply inserts, so it may look up without the lock; readers iterate under it.
  auto fn_it = functions_.find(std::string(function_id));
  if (fn_it == functions_.end()) {
    std::unique_lock lock(table_mu_);
    fn_it = functions_.try_emplace(std::string(function_id)).first;
  }
  std::unique_ptr<RunRecord> run;
  if (runs_kind_ == ProjectedRuns::kExecutable) {
    run = std::make_unique<RunState>(core_, id, fn, fn_it->first, std::move(event));
  } else {
    run = std::make_unique<RunRecord>(id, fn, fn_it->first, std::move(event));
  }
  run->counts = &fn_it->second;
  run->counts->by_status[static_cast<size_t>(RunStatus::kQueued)].fetch_add(
      1, std::memory_order_relaxed);
  run->parent_run = parent_run;
  run->parent_position = parent_position;
  run->created_us = created_us;
  run->created_lsn = lsn_;
  start_flow(*run);
  if (copied != nullptr && copied->size() > 0) {
    // A replay from the failed step: it starts with the original's results, which its code gets
    // back without running anything (as a recovered run replays its own).
    run->history = std::make_unique<std::vector<ReplayEntry>>();
    for (const schema::CopiedOp* op : *copied) {
      std::unique_ptr<Event> matched;  // a wait that an event ended (none: it timed out)
      if (op->event_name() != nullptr) {
        matched = std::make_unique<Event>(
            Event{std::string(fb_view(op->event_name())), std::string(fb_view(op->event_data())),
                  std::string(fb_view(op->event_id())), op->event_ts_ms()});
      }
      run->history->push_back(ReplayEntry{static_cast<OpKind>(op->kind()), false,
                                          std::string(fb_view(op->step_id())),
                                          std::string(fb_view(op->value())), std::move(matched)});
    }
    run->positions.store(copied->size(), std::memory_order_relaxed);
    set_status(*run, RunStatus::kRunning);
    // Recovery decides in finish_replay; the snapshotter's runs never execute.
    if (live_) executable(*run).replaying = true;
  }
  RunRecord* r = run.release();  // owned by the table, then by the worker that frees it
  {
    std::unique_lock lock(table_mu_);
    runs_.insert(id, r);
  }
  active_.fetch_add(1, std::memory_order_relaxed);
  counters_.runs_created.fetch_add(1, std::memory_order_relaxed);
  if (from_event && r->flow != nullptr && fn->flow != nullptr) {
    if (fn->flow->debounce) debounce_arrive(*r);
    if (fn->flow->batch_events_max != 0) batch_arrive(*r);
  }
  if (live_ && fn != nullptr) {
    arm_timeout(*r);
    if (r->flow != nullptr && (r->flow->debounce_since_ms != 0 || r->flow->batch_open ||
                               r->flow->admission == RunFlow::Admission::kToSkip)) {
      // Waits for its key to go quiet or for its batch (the timer is armed), or was skipped.
    } else if (r->flow != nullptr && r->flow->admission == RunFlow::Admission::kUndecided) {
      decide_admission(*r);
    } else {
      effects_.make_runnable(*r);
    }
  }
  return r;
}

RunInfo Projection::info_of(const RunRecord& run) const {
  RunInfo info;
  info.id = run.id;
  info.function_id = run.function_id;
  info.status = run.status.load(std::memory_order_relaxed);
  info.event = run.event;
  info.parent = run.parent_run;
  info.steps = run.positions.load(std::memory_order_relaxed);
  info.created_at = TimePoint(std::chrono::microseconds(run.created_us));
  return info;
}

void Projection::finish_run(RunRecord& run, RunStatus status, std::string output,
                            ValueFormat output_format, std::string error, int64_t at_us) {
  set_status(run, status, std::memory_order_release);
  // Into the finished runs first, then out of the table: a query in between finds it in one.
  RunInfo info = info_of(run);
  info.output = std::move(output);
  info.output_format = output_format;
  info.error = std::move(error);
  info.finished_at = TimePoint(std::chrono::microseconds(at_us));
  // Out of the count before run_finished wakes wait_run: a caller that saw its run finish may
  // send the next one at once, and runs_active_max must not refuse it for the run it waited for.
  active_.fetch_sub(1, std::memory_order_relaxed);
  effects_.run_finished(info, run.created_lsn, lsn_, live_);
  if (run.flow != nullptr) {
    forget_cancel_on(run);
    stop_debouncing(run);
    forget_batch(run);
    admission_.run_finished(run);
    if (live_) {
      effects_.leave_gate(run);
      leave_admission_line(run);
    }
  }
  {
    std::unique_lock lock(table_mu_);
    runs_.erase(run.id);
  }
  counters_.runs_finished.fetch_add(1, std::memory_order_relaxed);
  if (live_) {
    effects_.cancel_timer(run.id);
    if (run.fn != nullptr && run.fn->flow != nullptr && run.fn->flow->has_timeouts()) {
      effects_.cancel_timer(timeout_timer_key(run.id));
    }
    run.finished.store(true, std::memory_order_release);
    effects_.release_finished(run);  // the last use of `run` here: a worker may free it next
  } else {
    run.finished.store(true, std::memory_order_release);
    std::unique_ptr<RunRecord> owned(&run);
  }
}

void Projection::resolve(RunRecord& run, uint32_t position, OpKind kind, std::string_view step_id,
                         const std::function<void(PendingOp&)>& fill) {
  {
    std::lock_guard lock(run.op_lock);
    PendingOp& op = run.op;
    if (op.position != position) op.reset(kind, position);
    op.kind = kind;
    if (!step_id.empty()) op.step_id.assign(step_id);
    op.state = OpState::kResolved;
    op.failed = false;
    op.value.clear();
    if (op.wait) op.wait->matched.reset();
    fill(op);
    if (!live_) {
      if (!run.history) run.history = std::make_unique<std::vector<ReplayEntry>>();
      run.history->push_back(ReplayEntry{
          kind, op.failed, op.step_id, op.value,
          op.wait && op.wait->matched ? std::make_unique<Event>(*op.wait->matched) : nullptr});
    }
  }
  run.positions.store(position + 1, std::memory_order_relaxed);
  set_status(run, RunStatus::kRunning);
  if (live_) effects_.make_runnable(run);
}

void Projection::cancel_wait(RunRecord& run) {
  std::lock_guard lock(run.op_lock);
  if (run.op.kind == OpKind::kWait && run.op.state == OpState::kPending && run.op.wait) {
    waits_.remove(run.op.wait->event, run.op.wait->path, run.op.wait->value,
                  Waiter{run.id, run.op.position});
    waiting_.store(waits_.size(), std::memory_order_relaxed);
  }
}

void Projection::on_event_accepted(const schema::EventAccepted& e) {
  counters_.events.fetch_add(1, std::memory_order_relaxed);
  Event event{std::string(fb_view(e.name())), std::string(fb_view(e.data())),
              std::string(fb_view(e.event_id())), e.ts_ms()};
  // The window remembers the ids senders gave, not the ones the engine made up: those are unique,
  // and remembering them would grow the window with every event. Live, send() reserved the id and
  // it is now durable: confirming it answers the sends of that id that wait for it. In replay it is
  // remembered as of when it was accepted (records before accepted_us: the sender's time).
  if (!event.id.empty() && !e.duplicate() && !e.id_generated()) {
    dedup_.confirm(event.id, e.accepted_us() != 0 ? e.accepted_us() / 1000 : e.ts_ms(),
                   clock_.now_ms());
  }
  // cancel_on first: an event cancels the runs that were there before it, never the ones it
  // starts itself (a function triggered by "order/updated" that cancels on "order/updated" for the
  // same order replaces the older run, and must not cancel the new one).
  if (!e.duplicate() && cancel_on_.has_waiters_for(event.name)) cancel_matching(event);
  if (e.functions() != nullptr) {
    RunId id = e.first_run_id();
    for (const flatbuffers::String* f : *e.functions()) {
      create_run(id++, fb_view(f), event, 0, 0, e.accepted_us(), nullptr, /*from_event=*/true);
    }
  }
  if (!e.duplicate() && waits_.has_waiters_for(event.name)) {
    matched_.clear();
    waits_.take_matches(event.name, event.data, &matched_);
    waiting_.store(waits_.size(), std::memory_order_relaxed);
    for (const Waiter& w : matched_) {
      RunRecord* run = find(w.run);
      if (run == nullptr) continue;
      if (live_) effects_.cancel_timer(run->id);
      resolve(*run, w.position, OpKind::kWait, {}, [&](PendingOp& op) {
        if (!op.wait) op.wait = std::make_unique<WaitDetails>();
        op.wait->matched = event;
      });
    }
  }
  if (const schema::StepRef* o = e.origin()) {
    if (RunRecord* run = find(o->run_id())) {
      resolve(*run, o->position(), OpKind::kSend, fb_view(o->step_id()),
              [&](PendingOp& op) { op.value = event.id; });
    }
  }
}

void Projection::on_run_created(const schema::RunCreated& c) {
  const schema::StepRef* p = c.parent();
  Event event{std::string(fb_view(c.event_name())), std::string(fb_view(c.event_data())),
              std::string(fb_view(c.event_id())), c.ts_ms()};
  create_run(c.run_id(), fb_view(c.function_id()), std::move(event), p ? p->run_id() : 0,
             p ? p->position() : 0, c.created_us(), c.history());
  if (c.cron_expression() != nullptr) {
    cron_ticked(fb_view(c.function_id()), fb_view(c.cron_expression()), c.cron_tick_ms(), 0);
  }
  if (p == nullptr) return;
  RunRecord* parent = find(p->run_id());
  if (parent == nullptr) {
    // Its parent ended first (Engine::cancel can end a run whose code then invokes before it
    // notices): nobody waits for this run, so it is cancelled before it starts, in a replay too.
    if (RunRecord* child = find(c.run_id())) {
      request_cancel(*child,
                     "its parent run " + std::to_string(p->run_id()) + " ended before it started");
    }
    return;
  }
  {
    std::lock_guard lock(parent->op_lock);
    parent->op.reset(OpKind::kInvoke, p->position());
    parent->op.step_id.assign(fb_view(p->step_id()));
    parent->op.state = OpState::kPending;
    parent->op.child = c.run_id();
    set_status(*parent, RunStatus::kWaiting);
  }
  maybe_freeze(*parent);  // waits for its child; the last use of `parent`
}

void Projection::on_step_completed(const schema::StepCompleted& s) {
  const schema::StepRef* ref = s.step();
  if (ref == nullptr) return;
  RunRecord* run = find(ref->run_id());
  if (run == nullptr) return;  // finished or cancelled meanwhile
  counters_.steps_completed.fetch_add(1, std::memory_order_relaxed);
  if (live_) {
    executable(*run).notified_at_ns.store(
        std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  }
  resolve(*run, ref->position(), OpKind::kStep, fb_view(ref->step_id()), [&](PendingOp& op) {
    if (!live_) op.value.assign(fb_view(s.output()));  // history needs the value
  });
}

void Projection::on_step_failed(const schema::StepFailed& f) {
  const schema::StepRef* ref = f.step();
  if (ref == nullptr) return;
  RunRecord* run = find(ref->run_id());
  if (run == nullptr) return;
  // A send_event that found no room is not a failed step: it waits, like a step's retry, and
  // tries again (schema::FailureKind::NoRoom).
  const bool send = f.kind() == schema::FailureKind::NoRoom;
  const OpKind kind = send ? OpKind::kSend : OpKind::kStep;
  (send ? counters_.sends_deferred : counters_.step_failures)
      .fetch_add(1, std::memory_order_relaxed);
  if (f.retry_at_ms() == 0) {
    resolve(*run, ref->position(), kind, fb_view(ref->step_id()), [&](PendingOp& op) {
      op.failed = true;
      op.value.assign(fb_view(f.error()));
    });
    return;
  }
  {
    std::lock_guard lock(run->op_lock);
    run->op.reset(kind, ref->position());
    run->op.step_id.assign(fb_view(ref->step_id()));
    run->op.state = OpState::kRetryWait;
    run->op.attempts = f.attempt();
    run->op.deadline_ms = f.retry_at_ms();
    run->op.value.assign(fb_view(f.error()));
  }
  set_status(*run, RunStatus::kSleeping);
  if (live_) arm_timer_for(*run);
  maybe_freeze(*run);  // waits for its retry; the last use of `run`
}

void Projection::on_sleep_started(const schema::SleepStarted& s) {
  const schema::StepRef* ref = s.step();
  if (ref == nullptr) return;
  RunRecord* run = find(ref->run_id());
  if (run == nullptr) return;
  {
    std::lock_guard lock(run->op_lock);
    run->op.reset(OpKind::kSleep, ref->position());
    run->op.step_id.assign(fb_view(ref->step_id()));
    run->op.state = OpState::kPending;
    run->op.deadline_ms = s.wake_at_ms();
  }
  set_status(*run, RunStatus::kSleeping);
  if (live_) arm_timer_for(*run);
  maybe_freeze(*run);  // the last use of `run`: it may be packed away
}

void Projection::on_wait_started(const schema::WaitStarted& w) {
  const schema::StepRef* ref = w.step();
  if (ref == nullptr) return;
  RunRecord* run = find(ref->run_id());
  if (run == nullptr) return;
  {
    std::lock_guard lock(run->op_lock);
    run->op.reset(OpKind::kWait, ref->position());
    run->op.step_id.assign(fb_view(ref->step_id()));
    run->op.state = OpState::kPending;
    run->op.deadline_ms = w.timeout_at_ms();
    run->op.wait = std::make_unique<WaitDetails>();
    WaitDetails& d = *run->op.wait;
    d.event.assign(fb_view(w.event_name()));
    d.path.assign(fb_view(w.match_path()));
    d.value.assign(fb_view(w.match_value()));
    waits_.add(d.event, d.path, d.value, Waiter{run->id, ref->position()});
    waiting_.store(waits_.size(), std::memory_order_relaxed);
  }
  set_status(*run, RunStatus::kWaiting);
  if (live_) arm_timer_for(*run);
  maybe_freeze(*run);  // the last use of `run`: it may be packed away
}

void Projection::on_run_resumed(const schema::RunResumed& r) {
  const schema::StepRef* ref = r.step();
  if (ref == nullptr) return;
  RunRecord* run = find(ref->run_id());
  if (run == nullptr) return;
  if (r.reason() == schema::ResumeReason::StartTimedOut ||
      r.reason() == schema::ResumeReason::FinishTimedOut) {
    on_timeout(*run, r.reason());
    return;
  }
  if (r.reason() == schema::ResumeReason::DebounceDue) {
    on_debounce_due(*run);
    return;
  }
  if (r.reason() == schema::ResumeReason::BatchDue) {
    on_batch_due(*run);
    return;
  }
  if (r.reason() == schema::ResumeReason::ThrottleDue) {
    // Decided again now; replay leaves that to finish_replay.
    if (live_ && run->flow != nullptr && run->flow->admission == RunFlow::Admission::kDelayed &&
        admission_.first_in_line(*run->fn, *run->flow) == run) {
      admit_from_line(*run->fn, *run->flow);
    }
    return;
  }
  OpKind kind;
  OpState state;
  {
    std::lock_guard lock(run->op_lock);
    if (run->op.position != ref->position()) return;  // stale: the run moved on
    kind = run->op.kind;
    state = run->op.state;
  }
  switch (r.reason()) {
    case schema::ResumeReason::TimerFired:
      if (kind == OpKind::kSleep && state == OpState::kPending) {
        resolve(*run, ref->position(), OpKind::kSleep, {}, [](PendingOp&) {});
      }
      break;
    case schema::ResumeReason::WaitTimedOut:
      if (kind == OpKind::kWait && state == OpState::kPending) {
        cancel_wait(*run);
        resolve(*run, ref->position(), OpKind::kWait, {}, [](PendingOp&) {});
      }
      break;
    case schema::ResumeReason::ThrottleDue:
    case schema::ResumeReason::StartTimedOut:
    case schema::ResumeReason::FinishTimedOut:
    case schema::ResumeReason::DebounceDue:
    case schema::ResumeReason::BatchDue:
      break;  // handled above
    case schema::ResumeReason::RetryDue:
      if (is_retried(kind) && state == OpState::kRetryWait) {
        {
          std::lock_guard lock(run->op_lock);
          run->op.state = OpState::kRetryDue;
        }
        set_status(*run, RunStatus::kRunning);
        if (live_) effects_.make_runnable(*run);
      }
      break;
  }
}

void Projection::on_run_completed(const schema::RunCompleted& c) {
  RunRecord* run = find(c.run_id());
  if (run == nullptr) return;
  std::string output(fb_view(c.output()));
  if (run->parent_run != 0) {
    if (RunRecord* parent = find(run->parent_run)) {
      resolve(*parent, run->parent_position, OpKind::kInvoke, {},
              [&](PendingOp& op) { op.value = output; });
    }
  }
  // A format this version does not know (a log from a newer one, or from before registration
  // checked the Codec's) is shown as bytes: a snapshot holding it is refused at load.
  const ValueFormat format = recorded_value_format(static_cast<uint8_t>(c.output_format()));
  finish_run(*run, RunStatus::kCompleted, std::move(output), format, {}, c.at_us());
}

void Projection::on_run_failed(const schema::RunFailed& f) {
  RunRecord* run = find(f.run_id());
  if (run == nullptr) return;
  std::string error(fb_view(f.error()));
  cancel_wait(*run);
  if (run->parent_run != 0) {
    if (RunRecord* parent = find(run->parent_run)) {
      resolve(*parent, run->parent_position, OpKind::kInvoke, {}, [&](PendingOp& op) {
        op.failed = true;
        op.value = "invoked run " + std::to_string(run->id) + " failed: " + error;
      });
    }
  }
  if (f.failure_handler_run_id() != 0) {
    Event ev{"cairn/function.failed",
             failure_event_data(run->function_id, run->id, run->event, error),
             {},
             0};
    create_run(f.failure_handler_run_id(), run->function_id + "/on-failure", std::move(ev), 0, 0,
               f.at_us());
  }
  finish_run(*run, RunStatus::kFailed, {}, ValueFormat::kBytes, std::move(error), f.at_us());
}

void Projection::on_run_cancelled(const schema::RunCancelled& c) {
  RunRecord* run = find(c.run_id());
  if (run == nullptr) return;
  cancel_wait(*run);
  RunId child = 0;
  {
    std::lock_guard lock(run->op_lock);
    if (run->op.kind == OpKind::kInvoke && run->op.state == OpState::kPending)
      child = run->op.child;
  }
  if (RunRecord* invoked = child != 0 ? find(child) : nullptr) {
    request_cancel(*invoked, "its parent run " + std::to_string(run->id) + " was cancelled");
  }
  if (run->parent_run != 0) {
    if (RunRecord* parent = find(run->parent_run)) {
      resolve(*parent, run->parent_position, OpKind::kInvoke, {}, [&](PendingOp& op) {
        op.failed = true;
        op.value = "invoked run " + std::to_string(run->id) + " was cancelled";
      });
    }
  }
  finish_run(*run, RunStatus::kCancelled, {}, ValueFormat::kBytes, std::string(fb_view(c.reason())),
             c.at_us());
}

void Projection::arm_timer_for(RunRecord& run) {
  schema::ResumeReason reason;
  uint32_t position;
  int64_t deadline;
  {
    std::lock_guard lock(run.op_lock);
    const PendingOp& op = run.op;
    if (op.state == OpState::kPending && op.kind == OpKind::kSleep) {
      reason = schema::ResumeReason::TimerFired;
    } else if (op.state == OpState::kPending && op.kind == OpKind::kWait && op.deadline_ms > 0) {
      reason = schema::ResumeReason::WaitTimedOut;
    } else if (op.state == OpState::kRetryWait) {
      reason = schema::ResumeReason::RetryDue;
    } else {
      return;  // nothing the clock moves on
    }
    position = op.position;
    deadline = op.deadline_ms;
  }
  effects_.arm_timer(run.id, position, reason, deadline);
}

uint64_t Projection::finish_replay(uint64_t* unknown) {
  CAIRN_CHECK(frozen_.empty());  // only the engine's own projection executes, and it never freezes
  uint64_t resumed = 0;
  *unknown = 0;
  live_ = true;
  std::vector<RunRecord*> runs;
  {
    std::shared_lock lock(table_mu_);
    runs_.for_each([&](RunId, RunRecord* r) { runs.push_back(r); });
  }
  // Flow control queues and decides runs in the order they were created (fair and repeatable).
  registry_.for_each([&](const FunctionEntry& f) { any_flow_ = any_flow_ || f.flow != nullptr; });
  if (any_flow_ || options_.runs_executing_max != 0) {
    std::sort(runs.begin(), runs.end(),
              [](const RunRecord* a, const RunRecord* b) { return a->id < b->id; });
  }
  for (RunRecord* run : runs) {
    if (run->fn == nullptr) {
      ++*unknown;
      continue;
    }
    executable(*run).replaying = run->history != nullptr && !run->history->empty();
    ++resumed;
    if (run->flow != nullptr && run->flow->cancel_requested.load(std::memory_order_relaxed)) {
      effects_.wake(*run);  // it records its cancellation and stops
      continue;
    }
    arm_timer_for(*run);
    arm_timeout(*run);
    if (arm_wait_timer(*run)) continue;  // debouncing, or holding an open batch
    if (run->flow != nullptr && run->flow->admission == RunFlow::Admission::kToSkip) {
      effects_.wake(*run);  // replaced (debounce) or batched into another run: records its skip
      continue;
    }
    if (run->flow != nullptr && run->flow->admission == RunFlow::Admission::kUndecided) {
      // One that started before its function had these limits is not decided again: it
      // recorded operations, or has one under way (a sleep or a wait does not count as a
      // position until it ends). A snapshot restart admits these too.
      if (run->positions.load(std::memory_order_relaxed) == 0 &&
          run->status.load(std::memory_order_relaxed) == RunStatus::kQueued) {
        decide_admission(*run);
        continue;
      }
      run->flow->admission = RunFlow::Admission::kAdmitted;
    }
    // A sleeping or waiting run replays its code up to where it waits: no step body runs, so it
    // takes no concurrency slot (it would keep it while it waits). It takes one when it wakes.
    const RunStatus status = run->status.load(std::memory_order_relaxed);
    if (status == RunStatus::kSleeping || status == RunStatus::kWaiting) {
      effects_.wake(*run);
      continue;
    }
    effects_.make_runnable(*run);
  }
  return resumed;
}

std::optional<RunInfo> Projection::info(RunId id) const {
  std::shared_lock lock(table_mu_);
  if (const RunRecord* r = runs_.find(id)) return info_of(*r);
  if (auto frozen = peek_frozen(id)) return info_of(*frozen);
  return std::nullopt;
}

std::vector<RunInfo> Projection::page(const RunQuery& q) const {
  std::shared_lock lock(table_mu_);
  // A frozen run (the snapshotter's) is unpacked to be matched and kept, with its copy, only while
  // it is among the newest: at most a page of copies at a time.
  using Candidate = std::pair<const RunRecord*, std::unique_ptr<RunRecord>>;
  NewestRuns<Candidate> newest(q.limit + 1);
  auto offer = [&](RunId id, const RunRecord* r, std::unique_ptr<RunRecord> copy) {
    if (matches(q, id, r->function_id, r->status.load(std::memory_order_relaxed),
                TimePoint(std::chrono::microseconds(r->created_us)))) {
      newest.offer(id, Candidate(r, std::move(copy)));
    }
  };
  runs_.for_each([&](RunId id, RunRecord* r) { offer(id, r, nullptr); });
  frozen_.for_each_id([&](RunId id) {
    std::unique_ptr<RunRecord> copy = peek_frozen(id);
    const RunRecord* r = copy.get();
    offer(id, r, std::move(copy));
  });
  std::vector<RunInfo> out;
  for (const auto& [id, c] : newest.take()) out.push_back(info_of(*c.first));
  return out;
}

std::optional<uint64_t> Projection::created_lsn(RunId id) const {
  std::shared_lock lock(table_mu_);
  if (const RunRecord* r = runs_.find(id)) return r->created_lsn;
  if (frozen_.contains(id)) return frozen_.created_lsn(id);
  return std::nullopt;
}

// --- Flow control (docs/flow-control.md) ---

void Projection::start_flow(RunRecord& run) {
  if (run.fn == nullptr) return;
  const FunctionFlow* f = run.fn->flow.get();
  if (f == nullptr && options_.runs_executing_max == 0) return;
  run.flow = std::make_unique<RunFlow>();
  if (f == nullptr) return;
  f->evaluate(run.event, *run.flow);
  if (f->limits_admission()) run.flow->admission = RunFlow::Admission::kUndecided;
  for (size_t i = 0; i < f->cancel_on.size(); ++i) {
    const FunctionFlow::CancelMatch& c = f->cancel_on[i];
    // A run whose event lacks the field cannot be matched by value: no entry.
    if (!c.path.empty() && run.flow->cancel_values[i].empty()) continue;
    cancel_on_.add(c.event, c.path, run.flow->cancel_values[i],
                   Waiter{run.id, static_cast<uint32_t>(i)});
  }
}

void Projection::forget_cancel_on(RunRecord& run) {
  const FunctionFlow* f = run.fn != nullptr ? run.fn->flow.get() : nullptr;
  if (f == nullptr) return;
  for (size_t i = 0; i < f->cancel_on.size() && i < run.flow->cancel_values.size(); ++i) {
    const FunctionFlow::CancelMatch& c = f->cancel_on[i];
    if (!c.path.empty() && run.flow->cancel_values[i].empty()) continue;
    cancel_on_.remove(c.event, c.path, run.flow->cancel_values[i],
                      Waiter{run.id, static_cast<uint32_t>(i)});
  }
}

void Projection::cancel_matching(const Event& event) {
  std::vector<Waiter> matched;
  cancel_on_.take_matches(event.name, event.data, &matched);
  for (const Waiter& w : matched) {
    RunRecord* run = find(w.run);
    if (run == nullptr || run->fn == nullptr || run->fn->flow == nullptr) continue;
    const FunctionFlow::CancelMatch& c = run->fn->flow->cancel_on.at(w.position);
    std::string reason = "cancel_on: event " + event.name;
    if (!event.id.empty()) reason += " (id " + event.id + ")";
    if (!c.path.empty()) reason += " with the same " + c.path;
    request_cancel(*run, std::move(reason));
  }
}

void Projection::request_cancel(RunRecord& run, std::string reason) {
  if (run.fn == nullptr) return;  // nothing here executes it: Engine::cancel still can
  if (run.flow == nullptr) run.flow = std::make_unique<RunFlow>();
  RunFlow& f = *run.flow;
  if (f.cancel_requested.load(std::memory_order_relaxed)) return;  // the first reason stands
  f.cancel_reason = bounded_text(reason, options_.error_bytes_max);
  f.cancel_requested.store(true, std::memory_order_release);
  stop_debouncing(run);
  forget_batch(run);   // the batch goes with its run: the key's next event opens a new one
  if (!live_) return;  // finish_replay wakes it
  // Out of its concurrency queue; a slot it holds it keeps until it has stopped (the step it is
  // in may still be running), so the limit holds.
  if (!run.holds_slot) effects_.leave_gate(run);
  leave_admission_line(run);
  effects_.wake(run);
}

void Projection::decide_admission(RunRecord& run) {
  RunFlow& f = *run.flow;
  const AdmissionTable::Verdict v =
      admission_.decide(*run.fn, run, clock_.now_ms(), /*first_in_line=*/false);
  f.admission = v.admission;
  if (v.replaced.run != nullptr) {
    request_cancel(*v.replaced.run, "singleton: replaced by run " + std::to_string(v.replaced.by));
  }
  if (v.admission == RunFlow::Admission::kDelayed) {
    f.throttled = true;
    // In line behind its key's earlier delayed runs; the first of a line has the timer.
    if (admission_.wait_in_line(*run.fn, run)) {
      effects_.arm_timer(run.id, 0, schema::ResumeReason::ThrottleDue, v.retry_at_ms);
    }
  } else if (v.admission == RunFlow::Admission::kToSkip) {
    effects_.wake(run);
  } else {
    effects_.make_runnable(run);
  }
}

void Projection::admit_from_line(const FunctionEntry& fn, const RunFlow& flow) {
  const int64_t now_ms = clock_.now_ms();
  while (RunRecord* first = admission_.first_in_line(fn, flow)) {
    RunFlow& f = *first->flow;
    const AdmissionTable::Verdict v = admission_.decide(fn, *first, now_ms, /*first_in_line=*/true);
    if (v.admission == RunFlow::Admission::kDelayed) {
      effects_.arm_timer(first->id, 0, schema::ResumeReason::ThrottleDue, v.retry_at_ms);
      return;
    }
    admission_.leave_line(fn, *first);
    f.admission = v.admission;
    if (v.admission == RunFlow::Admission::kToSkip) {
      effects_.wake(*first);
    } else {
      effects_.make_runnable(*first);
    }
  }
}

void Projection::leave_admission_line(RunRecord& run) {
  if (run.flow == nullptr || run.flow->admission != RunFlow::Admission::kDelayed) return;
  if (admission_.leave_line(*run.fn, run)) {
    effects_.cancel_timer(run.id);
    admit_from_line(*run.fn, *run.flow);  // the next in line takes its place
  }
}

void Projection::on_run_admitted(const schema::RunAdmitted& a) {
  RunRecord* run = find(a.run_id());
  if (run == nullptr) return;
  run->admission_recorded = true;
  if (run->flow != nullptr && a.started_ms() != 0) {
    run->flow->started_ms = a.started_ms();
    if (live_) arm_timeout(*run);  // the start timeout is over; the finish timeout begins
  }
  // Live, the decision counted it already (and the worker that recorded it owns `admission`).
  if (live_) return;
  const AdmissionTable::Replaced replaced =
      admission_.record(*run, a.has_throttle(), fb_view(a.throttle_key()), a.has_rate_limit(),
                        fb_view(a.rate_limit_key()), a.at_ms());
  if (run->flow != nullptr) run->flow->admission = RunFlow::Admission::kAdmitted;
  // A singleton that cancels the unfinished run: replay asks for it again (recorded or not yet).
  if (replaced.run != nullptr && run->fn->flow->singleton_mode == Singleton::Mode::kCancelRunning) {
    request_cancel(*replaced.run, "singleton: replaced by run " + std::to_string(replaced.by));
  }
}

void Projection::on_run_skipped(const schema::RunSkipped& k) {
  RunRecord* run = find(k.run_id());
  if (run == nullptr) return;
  // An invoked run that flow control skipped (a rate limit, an idempotency key, a singleton, a
  // debounce that replaced it) ends its parent's invoke like any other end: as a failure saying
  // why. Without this the parent waited for it forever, across restarts too.
  if (run->parent_run != 0) {
    if (RunRecord* parent = find(run->parent_run)) {
      resolve(*parent, run->parent_position, OpKind::kInvoke, {}, [&](PendingOp& op) {
        op.failed = true;
        op.value = "invoked run " + std::to_string(run->id) +
                   " was skipped: " + std::string(fb_view(k.reason()));
      });
    }
  }
  finish_run(*run, RunStatus::kSkipped, {}, ValueFormat::kBytes, std::string(fb_view(k.reason())),
             k.at_us());
}

// --- Timeouts: one timer per run, under timeout_timer_key(run) ---

namespace {

// Started: a worker recorded that it started the run (RunAdmitted.started_ms), or the run has
// recorded operations (a replay from a failed step, or one that began before its function had
// timeouts: the finish timeout then counts from its creation).
bool started(const RunRecord& run) {
  return run.flow->started_ms != 0 || run.positions.load(std::memory_order_relaxed) > 0;
}

}  // namespace

void Projection::arm_timeout(RunRecord& run) {
  const FunctionFlow* f = run.fn != nullptr ? run.fn->flow.get() : nullptr;
  // A run that is to record its cancellation or its skip ends without starting: no timeout.
  if (f == nullptr || !f->has_timeouts() || run.flow == nullptr ||
      run.flow->cancel_requested.load(std::memory_order_relaxed) ||
      run.flow->admission.load(std::memory_order_relaxed) == RunFlow::Admission::kToSkip) {
    return;
  }
  const RunId key = timeout_timer_key(run.id);
  if (!started(run)) {
    if (f->start_timeout_ms != 0) {
      effects_.arm_timer(key, 0, schema::ResumeReason::StartTimedOut,
                         run.created_us / 1000 + f->start_timeout_ms);
    }
    return;
  }
  if (f->finish_timeout_ms == 0) {
    effects_.cancel_timer(key);
    return;
  }
  const int64_t from_ms = run.flow->started_ms != 0 ? run.flow->started_ms : run.created_us / 1000;
  effects_.arm_timer(key, 0, schema::ResumeReason::FinishTimedOut, from_ms + f->finish_timeout_ms);
}

void Projection::on_timeout(RunRecord& run, schema::ResumeReason reason) {
  const FunctionFlow* f = run.fn != nullptr ? run.fn->flow.get() : nullptr;
  if (f == nullptr || run.flow == nullptr) return;
  if (reason == schema::ResumeReason::StartTimedOut) {
    if (started(run)) return;  // it started first (in log order)
    request_cancel(run, "start timeout: not started within " + std::to_string(f->start_timeout_ms) +
                            " ms of being created");
    return;
  }
  request_cancel(run, "finish timeout: not finished within " +
                          std::to_string(f->finish_timeout_ms) + " ms of starting");
}

// --- Cron cursors ---

namespace {

std::string cron_key(std::string_view function_id, std::string_view expression) {
  std::string key(function_id);
  key.push_back('\0');
  key.append(expression);
  return key;
}

}  // namespace

void Projection::cron_ticked(std::string_view function_id, std::string_view expression,
                             int64_t tick_ms, uint64_t skipped) {
  auto [it, added] = cron_cursors_.try_emplace(cron_key(function_id, expression), tick_ms);
  if (!added) it->second = std::max(it->second, tick_ms);
  if (!live_) return;
  counters_.cron_ticks_skipped.fetch_add(skipped, std::memory_order_relaxed);
  effects_.cron_applied(function_id, expression, it->second);
}

void Projection::on_cron_cursor(const schema::CronCursor& c) {
  cron_ticked(fb_view(c.function_id()), fb_view(c.expression()), c.tick_ms(), c.skipped_ticks());
}

std::optional<int64_t> Projection::cron_cursor(std::string_view function_id,
                                               std::string_view expression) const {
  auto it = cron_cursors_.find(cron_key(function_id, expression));
  if (it == cron_cursors_.end()) return std::nullopt;
  return it->second;
}

// --- Debounce (docs/flow-control.md) ---

int64_t Projection::debounce_deadline(const RunRecord& run) const {
  const FunctionFlow& f = *run.fn->flow;
  int64_t due = run.created_us / 1000 + f.debounce_period_ms;
  if (f.debounce_timeout_ms != 0) {
    due = std::min(due, run.flow->debounce_since_ms + f.debounce_timeout_ms);
  }
  return due;
}

int64_t Projection::batch_deadline(const RunRecord& run) const {
  return run.created_us / 1000 + run.fn->flow->batch_timeout_ms;
}

bool Projection::arm_wait_timer(RunRecord& run) {
  if (run.flow == nullptr) return false;
  if (run.flow->debounce_since_ms != 0) {
    effects_.arm_timer(run.id, 0, schema::ResumeReason::DebounceDue, debounce_deadline(run));
    return true;
  }
  if (run.flow->batch_open) {
    effects_.arm_timer(run.id, 0, schema::ResumeReason::BatchDue, batch_deadline(run));
    return true;
  }
  return false;
}

void Projection::skip_run(RunRecord& run, std::string reason) {
  RunFlow& f = *run.flow;
  f.skip_reason = std::move(reason);
  f.admission.store(RunFlow::Admission::kToSkip, std::memory_order_release);
  if (live_) {
    effects_.cancel_timer(run.id);
    effects_.wake(run);  // it records its skip
  }
}

void Projection::debounce_arrive(RunRecord& run) {
  RunFlow& flow = *run.flow;
  const FunctionEntry& fn = *run.fn;
  // A run created at the epoch would read as "not waiting": 1 ms later changes no deadline that
  // matters.
  const int64_t created_ms = std::max<int64_t>(run.created_us / 1000, 1);
  KeyedWaitingRuns::Waiting* w = debounce_.find(fn, flow.debounce_key);
  if (w != nullptr && debounce_deadline(*w->run) <= created_ms) {
    // The waiting run's quiet period ended before this event came (its DebounceDue is not in the
    // log yet): it starts, and this event begins a new sequence. Decided by recorded times, so
    // how late a timer fires changes nothing.
    on_debounce_due(*w->run);
    w = nullptr;
  }
  flow.debounce_since_ms = w != nullptr ? w->since_ms : created_ms;
  if (w != nullptr) {
    RunRecord& old = *w->run;
    old.flow->debounce_since_ms = 0;
    skip_run(old, "debounce: replaced by run " + std::to_string(run.id) + " (a newer event" +
                      (fn.flow->debounce_key ? " of key \"" + flow.debounce_key + "\"" : "") + ")");
  }
  debounce_.put(fn, flow.debounce_key, {&run, flow.debounce_since_ms, 0});
  if (live_) arm_wait_timer(run);
}

void Projection::on_debounce_due(RunRecord& run) {
  // Replaced by a newer run, or cancelled, before this came: nothing to start.
  if (run.flow == nullptr || run.flow->debounce_since_ms == 0) return;
  stop_debouncing(run);
  if (live_ && run.flow->admission == RunFlow::Admission::kUndecided) decide_admission(run);
}

void Projection::stop_debouncing(RunRecord& run) {
  if (run.flow == nullptr || run.flow->debounce_since_ms == 0) return;
  debounce_.erase(*run.fn, run.flow->debounce_key, run);
  run.flow->debounce_since_ms = 0;
  if (live_) effects_.cancel_timer(run.id);
}

// --- Batching (docs/flow-control.md) ---

void Projection::batch_arrive(RunRecord& run) {
  RunFlow& flow = *run.flow;
  const FunctionEntry& fn = *run.fn;
  const FunctionFlow& f = *fn.flow;
  KeyedWaitingRuns::Waiting* w = batches_.find(fn, flow.batch_key);
  if (w != nullptr && batch_deadline(*w->run) <= run.created_us / 1000) {
    // The open batch's timeout passed before this event came (its BatchDue is not in the log
    // yet): it closes without it, and this event opens the next batch.
    close_batch(*w->run);
    w = nullptr;
  }
  if (w != nullptr) {
    // Joins the open batch: its event goes to the batch's run, and it ends skipped.
    RunRecord& holder = *w->run;
    holder.flow->batch->push_back(run.event);
    ++w->events;
    skip_run(run, "batched into run " + std::to_string(holder.id) +
                      (f.batch_key ? " (key \"" + flow.batch_key + "\")" : ""));
    if (w->events >= f.batch_events_max) close_batch(holder);
    return;
  }
  flow.batch = std::make_unique<std::vector<Event>>();
  flow.batch->push_back(run.event);
  flow.batch_open = true;
  batches_.put(fn, flow.batch_key, {&run, run.created_us / 1000, 1});
  if (f.batch_events_max <= 1) {
    close_batch(run);
  } else if (live_) {
    arm_wait_timer(run);
  }
}

void Projection::on_batch_due(RunRecord& run) {
  if (run.flow == nullptr || !run.flow->batch_open) return;  // closed when it filled up
  close_batch(run);
}

void Projection::close_batch(RunRecord& run) {
  forget_batch(run);
  if (live_ && run.flow->admission == RunFlow::Admission::kUndecided) decide_admission(run);
}

void Projection::forget_batch(RunRecord& run) {
  if (run.flow == nullptr || !run.flow->batch_open) return;
  batches_.erase(*run.fn, run.flow->batch_key, run);
  run.flow->batch_open = false;
  if (live_) effects_.cancel_timer(run.id);
}

}  // namespace cairn::detail
