// RunState: everything the engine holds about one unfinished run. Two owners share it:
//  - the projection (apply, on the log's writer thread) owns the durable facts: status, the
//    operation in progress and, while a restarted run replays, its history;
//  - the executor (a worker) owns the coroutine and what the function is doing right now.
// They meet in `op` (guarded by a tiny spinlock) and in `sched`, the atomic that decides who
// runs the run next: a run is queued only on the kIdle -> kQueued transition, so exactly one
// worker owns it at a time.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cairn/context.h"
#include "cairn/engine.h"
#include "cairn/event.h"

namespace cairn {
class Engine;
}

namespace cairn::detail {

struct FunctionEntry;
class EngineCore;

enum class Sched : uint32_t {
  kIdle = 0,      // parked: nobody runs it until notified
  kQueued = 1,    // in the ready queue or being driven by a worker
  kNotified = 2,  // being driven, and something happened meanwhile: drive it again
  kAbandoned = 3,  // a stopping worker let go of it; whoever finishes it frees it
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
  kRetryWait,  // a step attempt failed; the next waits for its retry time
  kRetryDue,   // the retry time has come
  kResolved,   // done: the result is below
};

// The newest durable fact about one position of the run (written by apply).
struct PendingOp {
  OpKind kind = OpKind::kStep;
  uint32_t position = ~0u;
  OpState state = OpState::kNone;
  uint32_t attempts = 0;    // failed attempts of a step
  int64_t deadline_ms = 0;  // sleep wake, wait timeout, retry time
  std::string step_id;
  // Result once resolved.
  bool failed = false;
  std::string value;  // error text, invoked run's output, sent event's id
  std::optional<Event> event;
  RunId child = 0;  // invoke
  // A wait's entry in the WaitIndex, to remove it when the wait ends another way.
  std::string wait_event;
  std::string wait_path;
  std::string wait_value;
};

// A resolved position, kept while a restarted run replays (then dropped).
struct HistoryEntry {
  OpKind kind = OpKind::kStep;
  bool failed = false;
  std::string step_id;
  std::string value;  // step output, invoke output, error text, sent event id
  std::optional<Event> event;
};

struct RunState {
  RunState(EngineCore& core, RunId id, const FunctionEntry* fn, std::string function_id,
           Event event)
      : engine(core),
        id(id),
        fn(fn),
        function_id(std::move(function_id)),
        event(std::move(event)),
        ctx(*this) {}

  EngineCore& engine;
  const RunId id;
  const FunctionEntry* const fn;  // null: the function is not registered in this process
  const std::string function_id;
  const Event event;  // the input
  RunId parent_run = 0;
  uint32_t parent_position = 0;

  // --- projection (apply) ---
  std::atomic<RunStatus> status{RunStatus::kQueued};
  std::atomic<uint32_t> positions{0};  // durable operations recorded
  std::atomic<bool> finished{false};   // its last record is applied; the owner frees it
  std::string final_error;             // cancelled: why
  SpinLock op_lock;
  PendingOp op;
  std::vector<HistoryEntry> history;  // replay only
  std::atomic<Sched> sched{Sched::kIdle};
  std::atomic<int64_t> notified_at_ns{0};  // when a step's record made it runnable

  // --- executor (the worker that owns it) ---
  Context ctx;
  std::coroutine_handle<> root;  // the driving coroutine, once started
  OpSlot* current = nullptr;     // the operation the coroutine is suspended at
  std::coroutine_handle<> suspended;  // the innermost coroutine, suspended at `current`
  uint32_t next_position = 0;    // positions the coroutine has asked for
  uint32_t attempt_position = ~0u;  // the position attempt_started counts for
  uint32_t attempt_started = 0;      // attempts of that step this process started
  size_t history_used = 0;       // replayed positions consumed
  bool replaying = false;
  bool done = false;             // the coroutine finished; its final record is appended
  bool failed = false;           // the coroutine ended with an error
  std::string output;            // coroutine result or error text
  std::string fatal;             // a limit or non-determinism stops the run with this error
  std::vector<std::pair<uint64_t, uint32_t>> id_counts;  // hash of id -> times used
};

}  // namespace cairn::detail
