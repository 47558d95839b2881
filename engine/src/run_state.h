// RunRecord and RunState: everything the engine holds about one unfinished run. Two owners share
// a RunState:
//  - the projection (apply, on the log's writer thread) owns the durable facts, the RunRecord
//    part: status, the operation in progress and, while a restarted run replays, its history;
//  - the executor (a worker) owns the coroutine and what the function is doing right now.
// The snapshotter's projection keeps RunRecords only: a parked run costs it no executor fields.
// They meet in `op` (guarded by a tiny spinlock) and in `sched`, the atomic that decides who
// runs the run next: a run is queued only on the kIdle -> kQueued transition, so exactly one
// worker owns it at a time.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cairn/context.h"
#include "cairn/engine.h"
#include "cairn/event.h"
#include "cairn/task.h"

namespace cairn {
class Engine;
}

namespace cairn::detail {

struct FunctionEntry;
struct FunctionCounts;
class EngineCore;

enum class Sched : uint32_t {
  kIdle = 0,       // parked: nobody runs it until notified
  kQueued = 1,     // in the ready queue or being driven by a worker
  kNotified = 2,   // being driven, and something happened meanwhile: drive it again
  kAbandoned = 3,  // a stopping worker let go of it; whoever finishes it frees it
  // Its last record is applied and apply has let go of it (the last thing apply does with the
  // run): the worker that drives it, or dequeues it, frees it. Only apply sets it, from kQueued
  // or kNotified; `finished` alone does not let a worker free the run, since apply may still be
  // using it.
  kFinished = 4,
};

// A tiny spinlock: held for a few field copies only.
class SpinLock {
 public:
  void lock() {
    while (flag_.exchange(true, std::memory_order_acquire)) {
      while (flag_.load(std::memory_order_relaxed)) __builtin_ia32_pause();
    }
  }
  void unlock() { flag_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> flag_{false};
};

enum class OpState : uint8_t {
  kNone,       // no record for this position yet
  kPending,    // recorded (sleep, wait, invoke started), waiting to be resolved
  kRetryWait,  // a step attempt failed (or a send found no room); the next waits for its time
  kRetryDue,   // the retry time has come
  kResolved,   // done: the result is below
};

// The operations that are tried again at a retry time (OpState::kRetryWait, kRetryDue): a step
// whose attempt failed, and a send_event that found no room (schema::FailureKind::NoRoom).
inline bool is_retried(OpKind kind) {
  return kind == OpKind::kStep || kind == OpKind::kSend;
}

// What only a wait needs: its entry in the WaitIndex (to remove it when the wait ends another
// way) and the event that resolved it. Kept out of line so that other runs do not pay for it.
struct WaitDetails {
  std::string event;
  std::string path;
  std::string value;
  std::optional<Event> matched;
};

// The newest durable fact about one position of the run (written by apply).
struct PendingOp {
  OpKind kind = OpKind::kStep;
  OpState state = OpState::kNone;
  bool failed = false;
  uint32_t position = ~0u;
  uint32_t attempts = 0;    // failed attempts of a step
  int64_t deadline_ms = 0;  // sleep wake, wait timeout, retry time
  RunId child = 0;          // invoke
  std::string step_id;
  std::string value;  // once resolved: error text, invoked run's output, sent event's id
  std::unique_ptr<WaitDetails> wait;

  // Starts describing `position` afresh.
  void reset(OpKind k, uint32_t pos) {
    kind = k;
    state = OpState::kNone;
    failed = false;
    position = pos;
    attempts = 0;
    deadline_ms = 0;
    child = 0;
    step_id.clear();
    value.clear();
    wait.reset();
  }
};

// A resolved position, kept while a restarted run replays (then dropped).
struct ReplayEntry {
  OpKind kind = OpKind::kStep;
  bool failed = false;
  std::string step_id;
  std::string value;             // step output, invoke output, error text, sent event id
  std::unique_ptr<Event> event;  // a wait's matched event (out of line: most entries are steps)
};

// How often each operation id was used in a run, so a repeated id gets a suffix ("charge:1").
// Most runs use a handful of distinct ids: the newest one lives inline (a loop repeats it), the
// rest out of line, so a run that uses none costs 24 bytes.
class IdCounts {
 public:
  // How many times `hash` was used so far (without counting a use).
  uint32_t seen(uint64_t hash) const {
    const uint32_t* count = count_of(*this, hash);
    return count == nullptr ? 0 : *count + 1;
  }

  // Returns how many times `hash` was seen before (and counts this use).
  uint32_t use(uint64_t hash) {
    if (uint32_t* count = count_of(*this, hash)) return ++*count;
    if (used_) {
      if (more_ == nullptr) more_ = std::make_unique<std::vector<std::pair<uint64_t, uint32_t>>>();
      more_->emplace_back(last_hash_, last_count_);
    }
    used_ = true;
    last_hash_ = hash;
    last_count_ = 0;
    return 0;
  }

 private:
  // Uses of `hash` less one, or null when unseen (`Self`: IdCounts or const IdCounts).
  template <typename Self>
  static auto count_of(Self& self, uint64_t hash) -> decltype(&self.last_count_) {
    if (self.used_ && self.last_hash_ == hash) return &self.last_count_;
    if (self.more_ != nullptr) {
      for (auto& p : *self.more_) {
        if (p.first == hash) return &p.second;
      }
    }
    return nullptr;
  }

  uint64_t last_hash_ = 0;
  uint32_t last_count_ = 0;
  bool used_ = false;
  std::unique_ptr<std::vector<std::pair<uint64_t, uint32_t>>> more_;  // the others, once any
};

// Flow control's facts about a run (docs/flow-control.md); only runs of functions with flow options
// (or every run, with an engine-wide concurrency limit) have one. Who writes what:
//  - apply: the keys, `admission` (before it makes the run runnable), `queued` (and the run's
//    `holds_slot`)
//    (the concurrency gate's, apply thread only), the cancel request;
//  - the worker that owns the run: `recorded_end` and the move from kToRecord to kAdmitted.
struct RunFlow {
  enum class Admission : uint8_t {
    kAdmitted,   // may start (no throttle or rate limit, or its RunAdmitted is in the log)
    kUndecided,  // replayed: no RunAdmitted or RunSkipped yet; finish_replay decides it
    kDelayed,    // its throttle refused it for now: a ThrottleDue timer decides it again
    kToRecord,   // admitted just now: the worker appends RunAdmitted before its first step
    kToSkip,     // its rate limit refused it: the worker appends RunSkipped
    kToFail,     // its concurrency queue was full: the worker fails it with skip_reason
  };
  std::atomic<Admission> admission{Admission::kAdmitted};
  bool queued = false;  // waits in its function's queue for one
  // Idempotency, singleton and rate limit counted it already (then a throttle delayed it).
  bool counted = false;
  bool recorded_end = false;  // the worker appended its RunCancelled or RunSkipped
  // Its throttle delayed it: it queues for a slot from when it was admitted (decided_ms), not
  // from its creation.
  bool throttled = false;
  int32_t priority = 0;
  int64_t decided_ms = 0;        // when it was admitted (RunAdmitted.at_ms)
  int64_t started_ms = 0;        // timeouts: when a worker started it (0: not yet)
  uint64_t concurrency_key = 0;  // the key's hash; 0: counted function-wide only
  std::string throttle_key;
  std::string rate_limit_key;
  std::string singleton_key;
  std::string idempotency_key;
  std::string debounce_key;
  int64_t debounce_since_ms = 0;  // waits for its key to go quiet: its sequence's start (0: not)
  std::string batch_key;
  bool batch_open = false;  // collects its key's batch: not started yet
  // Batching: the events the run gets, its own first (written by apply until the batch closes,
  // read by the worker only after: the run starts once it is closed).
  std::unique_ptr<std::vector<Event>> batch;
  std::string skip_reason;                 // kToSkip, kToFail: why (written before `admission`)
  std::vector<std::string> cancel_values;  // per cancel_on entry: the value registered, if any
  std::atomic<bool> cancel_requested{false};
  std::string cancel_reason;  // written before cancel_requested is set; read after it is seen
};

// What the projection knows about one unfinished run: the durable facts its records give. The
// snapshotter's projection holds only this (it never executes anything); the engine's own
// projection holds RunStates, which add what executing the run needs.
struct RunRecord {
  RunRecord(RunId id, const FunctionEntry* fn, const std::string& function_id, Event event)
      : id(id), fn(fn), function_id(function_id), event(std::move(event)) {}
  virtual ~RunRecord() = default;  // a projection frees both kinds through this
  RunRecord(const RunRecord&) = delete;
  RunRecord& operator=(const RunRecord&) = delete;

  const RunId id;
  const FunctionEntry* const fn;   // null: the function is not registered in this process
  const std::string& function_id;  // interned by the projection
  const Event event;               // the input
  RunId parent_run = 0;
  uint32_t parent_position = 0;
  int64_t created_us = 0;            // the engine's clock when its creating record was accepted
  uint64_t created_lsn = 0;          // that record's LSN (run_history reads from there)
  FunctionCounts* counts = nullptr;  // the projection's counters of its function's runs

  std::atomic<RunStatus> status{RunStatus::kQueued};
  // Its last record is applied: nothing more of it runs. Apply then hands it over through `sched`
  // (EngineCore::release_finished), and only that says who frees it.
  std::atomic<bool> finished{false};
  // Holds a concurrency slot (flow control; the applying thread's). Here rather than in RunFlow:
  // every step of a running run checks it, and this line is already in the cache.
  bool holds_slot = false;
  // A RunAdmitted of it is in the log (or a snapshot said its admission was decided): a full
  // replay counts that admission under any limits, so no restart decides it again (apply
  // thread's; SnapRun.admission_free).
  bool admission_recorded = false;
  SpinLock op_lock;
  std::atomic<uint32_t> positions{0};  // durable operations recorded
  PendingOp op;
  std::unique_ptr<std::vector<ReplayEntry>> history;  // while a restarted run replays
  std::unique_ptr<RunFlow> flow;                      // flow control's, if its function uses it
};

// A run the engine executes: its record (written by apply) and what the worker that owns it
// needs to drive its coroutine.
struct RunState final : RunRecord {
  RunState(EngineCore& core, RunId id, const FunctionEntry* fn, const std::string& function_id,
           Event event)
      : RunRecord(id, fn, function_id, std::move(event)), engine(core), ctx(*this) {}

  EngineCore& engine;
  std::atomic<Sched> sched{Sched::kIdle};
  std::atomic<int64_t> notified_at_ns{0};  // when a step's record made it runnable

  // --- executor (the worker that owns it) ---
  Context ctx;
  ErasedTask task;                    // the function, once started
  std::coroutine_handle<> suspended;  // the innermost coroutine, suspended at `current`
  OpSlot* current = nullptr;          // the operation it is suspended at
  uint32_t next_position = 0;         // positions the coroutine has asked for
  uint32_t attempt_position = ~0u;    // the position attempt_started counts for
  uint32_t attempt_started = 0;       // attempts of that step this process started
  uint32_t history_used = 0;          // replayed positions consumed
  bool replaying = false;
  bool done = false;                   // the function ended; its final record is appended
  std::unique_ptr<std::string> fatal;  // a limit or non-determinism stops the run with this
  IdCounts id_counts;
};

}  // namespace cairn::detail
